//! What a call of the [`ApiClient`](crate::ApiClient) can fail with.

use timesheet_domain::Problem;

use crate::token::TokenError;

/// A failed API call. Retries (see [`crate::retry`]) have already been spent when a caller sees
/// one; [`is_retryable`](Self::is_retryable) says whether trying again later may help.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The request got no answer: connection refused or broken, TLS failure, timeout.
    #[error("no answer from the API ({context}): {source}")]
    Transport {
        context: String,
        #[source]
        source: reqwest::Error,
    },
    /// The API answered with an error status. `problem` is its RFC 9457 body, when it sent one
    /// (boxed: it is large, and the error travels by value through every `Result`).
    #[error("the API answered {status}{}", problem_suffix(.problem.as_deref()))]
    Status {
        status: u16,
        problem: Option<Box<Problem>>,
    },
    /// The API answered success with a body or headers this client cannot read.
    #[error("unexpected answer from the API ({context}): {reason}")]
    Decode { context: String, reason: String },
    /// No access token could be had.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// Refused locally: an upload holds more entries than the API takes in one request.
    #[error("{count} entries in one upload; the API takes at most {max}")]
    TooLarge { count: usize, max: usize },
    /// Refused locally: an argument the API would refuse (an invalid idempotency key).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
}

fn problem_suffix(problem: Option<&Problem>) -> String {
    match problem {
        Some(p) => match &p.detail {
            Some(detail) => format!(": {}: {detail}", p.title),
            None => format!(": {}", p.title),
        },
        None => String::new(),
    }
}

impl ClientError {
    /// Whether the same call may succeed later: transport failures, 429, 500, 502, 503, 504,
    /// and token failures that are themselves retryable. Whether it is *safe* to repeat is the
    /// caller's to judge.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Transport { .. } => true,
            Self::Status { status, .. } => matches!(status, 429 | 500 | 502..=504),
            Self::Token(err) => err.is_retryable(),
            Self::Decode { .. } | Self::TooLarge { .. } | Self::InvalidArgument(_) => false,
        }
    }

    /// The HTTP status, for [`ClientError::Status`].
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The server's problem details, when it sent some.
    pub fn problem(&self) -> Option<&Problem> {
        match self {
            Self::Status { problem, .. } => problem.as_deref(),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use timesheet_domain::ProblemType;

    #[test]
    fn status_errors_show_the_problem_and_know_if_retrying_helps() {
        let err = ClientError::Status {
            status: 412,
            problem: Some(Box::new(
                Problem::new(ProblemType::PreconditionFailed).with_detail("etag is x"),
            )),
        };
        assert_eq!(
            err.to_string(),
            "the API answered 412: The entry has changed since it was read: etag is x"
        );
        assert!(!err.is_retryable());
        assert_eq!(err.problem().map(|p| p.status), Some(412));
        let busy = ClientError::Status {
            status: 503,
            problem: None,
        };
        assert!(busy.is_retryable());
        assert_eq!(busy.to_string(), "the API answered 503");
    }
}
