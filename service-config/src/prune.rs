//! Navigating and cutting the merged configuration tree by an error's key path, so that the next
//! read of the tree goes past a key already reported.

use figment::value::Value;

/// The value at `path` (dictionary keys and array indices), if there is one.
pub(crate) fn value_at<'v>(tree: &'v Value, path: &[String]) -> Option<&'v Value> {
    let mut at = tree;
    for part in path {
        at = match at {
            Value::Dict(_, dict) => dict.get(part)?,
            Value::Array(_, items) => items.get(part.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(at)
}

/// Takes out the dictionary entry holding the value at `path`, so that the field falls back to
/// its default. A bad item of a list takes its whole list out (removing one item would shift
/// the indices of the others, and the keys reported with them). Returns the path of what was
/// taken out; `None` means nothing could be, and the search must stop.
pub(crate) fn prune(tree: &mut Value, path: &[String]) -> Option<Vec<String>> {
    // The last dictionary key on the path: what is removed.
    let cut = path
        .iter()
        .rposition(|part| part.parse::<usize>().is_err())?;
    let (parent, key) = (&path[..cut], &path[cut]);
    match value_at_mut(tree, parent) {
        Some(Value::Dict(_, dict)) => dict.remove(key).map(|_| path[..=cut].to_vec()),
        _ => None,
    }
}

fn value_at_mut<'v>(tree: &'v mut Value, path: &[String]) -> Option<&'v mut Value> {
    let mut at = tree;
    for part in path {
        at = match at {
            Value::Dict(_, dict) => dict.get_mut(part)?,
            Value::Array(_, items) => items.get_mut(part.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(at)
}
