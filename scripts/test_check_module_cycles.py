"""Tests of scripts/check-module-cycles on small synthetic crates.

Run from the scripts directory: python3 -m unittest test_check_module_cycles
"""

import contextlib
import importlib.machinery
import importlib.util
import io
import os
import sys
import tempfile
import textwrap
import unittest

sys.dont_write_bytecode = True
_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "check-module-cycles")
_loader = importlib.machinery.SourceFileLoader("check_module_cycles", _SCRIPT)
_spec = importlib.util.spec_from_loader("check_module_cycles", _loader)
cmc = importlib.util.module_from_spec(_spec)
sys.modules["check_module_cycles"] = cmc  # dataclasses look their module up there
_loader.exec_module(cmc)


class CrateTestCase(unittest.TestCase):
    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory()
        self.root = self._tmp.name
        self.addCleanup(self._tmp.cleanup)

    def crate(self, name, files, manifest=None):
        """Write a crate `name` under the temp dir: {relative path: source}."""
        d = os.path.join(self.root, name)
        for rel, text in files.items():
            path = os.path.join(d, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w", encoding="utf-8") as f:
                f.write(textwrap.dedent(text))
        with open(os.path.join(d, "Cargo.toml"), "w", encoding="utf-8") as f:
            f.write(manifest or f'[package]\nname = "{name}"\nversion = "0.1.0"\n')
        return d

    def cycles(self, crate_dir):
        """[(label, parent, members, {(a, b): [path texts]})] of every target."""
        out = []
        for label, root_file in cmc.crate_targets(crate_dir)[1]:
            t = cmc.read_target(label, root_file, crate_dir)
            for c in cmc.find_cycles(t):
                edges = {k: [r[2] for r in e.refs] for k, e in c.edges.items()}
                out.append((c.label, c.parent_text, c.members, edges))
        return out

    def edges(self, crate_dir, parent=()):
        """{(a, b): [path texts]} at `parent` of the library target."""
        label, root_file = cmc.crate_targets(crate_dir)[1][0]
        t = cmc.read_target(label, root_file, crate_dir)
        return {k: [r[2] for r in e.refs] for k, e in cmc.level_edges(t).get(parent, {}).items()}

    def run_main(self, *argv):
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cmc.main(list(argv))
        return code, out.getvalue(), err.getvalue()


class CycleTests(CrateTestCase):
    def test_cycle_between_siblings_is_found(self):
        d = self.crate(
            "demo",
            {
                "src/lib.rs": "pub mod a;\npub mod b;\npub mod c;\n",
                "src/a.rs": "use crate::b::Thing;\npub struct A;\n",
                "src/b.rs": "pub struct Thing;\npub fn f() -> crate::a::A { crate::a::A }\n",
                "src/c.rs": "use crate::a::A;\n",
            },
        )
        [(label, parent, members, edges)] = self.cycles(d)
        self.assertEqual((label, parent, members), ("demo", "crate", ["a", "b"]))
        self.assertEqual(edges[("a", "b")], ["crate::b::Thing"])
        self.assertEqual(edges[("b", "a")], ["crate::a::A", "crate::a::A"])

        code, out, _ = self.run_main(d)
        self.assertEqual(code, 1)
        self.assertIn("CYCLE demo: crate::{a -> b -> a}", out)
        self.assertIn(os.path.join(d, "src", "a.rs") + ":1  crate::b::Thing", out.replace(os.getcwd() + os.sep, ""))

    def test_cycle_through_descendants_is_found_at_the_common_parent(self):
        d = self.crate(
            "deep",
            {
                "src/lib.rs": "mod outer;\n",
                "src/outer/mod.rs": "mod x;\nmod y;\n",
                "src/outer/x/mod.rs": "mod inner;\n",
                "src/outer/x/inner.rs": "use super::super::y::Y;\n",
                "src/outer/y.rs": "pub struct Y;\nfn g() { let _ = crate::outer::x::inner::f; }\n",
            },
        )
        [(_, parent, members, _)] = self.cycles(d)
        self.assertEqual((parent, members), ("crate::outer", ["x", "y"]))

    def test_parent_and_child_references_are_not_edges(self):
        d = self.crate(
            "family",
            {
                "src/lib.rs": "pub mod config;\npub struct Root;\nuse config::Section;\n",
                "src/config/mod.rs": "pub mod section;\npub use section::Section;\npub struct Config;\n",
                "src/config/section.rs": "use super::Config;\nuse crate::Root;\npub struct Section(crate::config::Config);\n",
            },
        )
        self.assertEqual(self.cycles(d), [])
        self.assertEqual(self.edges(d), {})
        self.assertEqual(self.edges(d, ("config",)), {})
        code, out, _ = self.run_main(d)
        self.assertEqual(code, 0)
        self.assertEqual(out.strip(), "1 crate, 3 modules, no cycles")

    def test_brace_group_use_is_resolved(self):
        d = self.crate(
            "braces",
            {
                "src/lib.rs": "mod a;\nmod b;\nmod c;\nmod d;\n",
                "src/a.rs": """\
                    use crate::{
                        b::Bee,
                        c::{self, deeper::{Sea, Shell as S}},
                        Root,
                    };
                """,
                "src/b.rs": "pub struct Bee;\n",
                "src/c/mod.rs": "pub mod deeper;\n",
                "src/c/deeper.rs": "pub struct Sea;\npub struct Shell;\n",
                "src/d.rs": "use crate::{a as alias};\nuse super::b::*;\n",
            },
        )
        edges = self.edges(d)
        self.assertEqual(edges[("a", "b")], ["crate::b::Bee"])
        self.assertEqual(
            sorted(edges[("a", "c")]),
            ["crate::c::deeper::Sea", "crate::c::deeper::Shell", "crate::c::self"],
        )
        self.assertEqual(edges[("d", "a")], ["crate::a"])
        self.assertEqual(edges[("d", "b")], ["super::b"])

    def test_use_of_a_child_module_path(self):
        d = self.crate(
            "child",
            {
                "src/lib.rs": "mod p;\n",
                "src/p/mod.rs": "mod one;\nmod two;\n",
                "src/p/one.rs": "use crate::p::two::Two;\n",
                # `two` declares `mod sub;` and its `use sub::...` is a path into its own child
                "src/p/two/mod.rs": "mod sub;\nuse sub::Helper;\npub struct Two;\n",
                "src/p/two/sub.rs": "pub struct Helper;\nuse self::super::super::one as _one;\n",
            },
        )
        label, root_file = cmc.crate_targets(d)[1][0]
        t = cmc.read_target(label, root_file, d)
        refs = {"::".join(r.segs): cmc.resolve(t, r) for r in t.refs}
        self.assertEqual(refs["sub::Helper"], ("p", "two", "sub"))
        self.assertEqual(self.cycles(d)[0][2], ["one", "two"])

    def test_test_code_is_left_out(self):
        d = self.crate(
            "tested",
            {
                "src/lib.rs": """\
                    pub mod a;
                    pub mod b;
                    pub mod c;
                    #[cfg(test)]
                    mod helpers;
                    #[cfg(all(test, unix))]
                    mod unix_helpers;
                """,
                "src/a.rs": """\
                    pub struct A;
                    #[cfg(test)]
                    mod tests;
                    #[cfg(test)]
                    // a comment between the attributes
                    #[allow(dead_code)]
                    mod inline_tests {
                        use crate::b::B;
                        fn f() { let s = "}"; let c = '}'; }
                        mod nested { use crate::b::B; }
                    }
                    #[cfg(test)]
                    fn only_in_tests() -> crate::b::B { crate::b::B }
                    pub fn after() {}
                """,
                "src/a/tests.rs": "use crate::b::B;\n",
                "src/b.rs": """\
                    use crate::a::A;
                    pub struct B;
                    mod tests {
                        use crate::c::C;
                    }
                """,
                "src/c.rs": "pub struct C;\n",
                "src/helpers.rs": "use crate::b::B;\nuse crate::a::A;\n",
                "src/unix_helpers.rs": "use crate::b::B;\n",
                "src/tests/mod.rs": "use crate::a::A;\n",
            },
        )
        self.assertEqual(self.cycles(d), [])
        self.assertEqual(self.edges(d), {("b", "a"): ["crate::a::A"]})

    def test_cfg_not_test_and_unknown_cfgs_are_kept(self):
        d = self.crate(
            "cfgs",
            {
                "src/lib.rs": "mod a;\nmod b;\nmod c;\n",
                "src/a.rs": '#[cfg(not(test))]\nuse crate::b::X;\n#[cfg(any(test, feature = "x"))]\nuse crate::b::Y;\n',
                "src/b.rs": "#![cfg(test)]\nuse crate::a::A;\n",
                "src/c.rs": "mod inner {\n    #![allow(unused)]\n    #![cfg(test)]\n    use crate::a::A;\n}\n",
            },
        )
        # b is test-only (inner attribute): gone, and with it every path into it
        label, root_file = cmc.crate_targets(d)[1][0]
        t = cmc.read_target(label, root_file, d)
        self.assertEqual(t.modules, {(), ("a",), ("c",)})
        self.assertEqual(self.edges(d), {})
        # the uses under cfg(not(test)) and cfg(any(test, feature)) are read
        self.assertEqual(["::".join(r.segs) for r in t.refs], ["crate::b::X", "crate::b::Y"])

    def test_comments_strings_raw_strings_lifetimes(self):
        d = self.crate(
            "tricky",
            {
                "src/lib.rs": "mod a;\nmod b;\n",
                "src/a.rs": r'''
                    // use crate::b::Commented;
                    /* use crate::b::Block; /* nested */ crate::b::StillComment */
                    /// Doc link [`crate::b::Doc`].
                    const S: &str = "crate::b::InString \" crate::b::Escaped";
                    const R: &str = r#"crate::b::Raw "quoted" }"#;
                    const BR: &[u8] = br##"crate::b::RawBytes"# still"##;
                    const C: char = '"';
                    const Q: char = '\'';
                    const OPEN: char = '{';
                    fn f<'a>(x: &'a str) -> &'a str { 'outer: loop { break 'outer; } x }
                    macro_rules! m { () => { $crate::b::Dollar }; }
                    pub struct A;
                ''',
                "src/b.rs": "use crate::a::A;\n",
            },
        )
        self.assertEqual(self.edges(d), {("b", "a"): ["crate::a::A"]})

    def test_paths_in_attributes_and_expressions(self):
        d = self.crate(
            "attrs",
            {
                "src/lib.rs": "mod cli;\nmod config;\n",
                "src/cli.rs": "#[derive(Parser)]\npub struct Cli {\n    #[arg(env = crate::config::ENV)]\n    file: String,\n}\n",
                "src/config.rs": "pub const ENV: &str = \"X\";\nfn f(c: &crate::cli::Cli) -> usize { crate::cli::LIMIT * 2 }\n",
            },
        )
        edges = self.edges(d)
        self.assertEqual(edges[("cli", "config")], ["crate::config::ENV"])
        self.assertEqual(edges[("config", "cli")], ["crate::cli::Cli", "crate::cli::LIMIT"])

    def test_inline_modules_and_path_attribute(self):
        d = self.crate(
            "inline",
            {
                "src/lib.rs": 'mod a;\n#[path = "elsewhere/bee.rs"]\nmod b;\n',
                "src/a.rs": "mod inner {\n    use super::super::b::B;\n    mod leaf;\n}\npub struct A;\n",
                "src/a/inner/leaf.rs": "use crate::a::A;\n",
                "src/elsewhere/bee.rs": "pub struct B;\nuse crate::a::A;\n",
            },
        )
        label, root_file = cmc.crate_targets(d)[1][0]
        t = cmc.read_target(label, root_file, d)
        self.assertEqual(t.modules, {(), ("a",), ("a", "inner"), ("a", "inner", "leaf"), ("b",)})
        self.assertEqual(self.cycles(d)[0][2], ["a", "b"])

    def test_lib_and_binaries_are_separate_targets(self):
        d = self.crate(
            "both",
            {
                "src/lib.rs": "pub mod a;\n",
                "src/a.rs": "",
                "src/main.rs": "mod x;\nmod y;\n",
                "src/x.rs": "use crate::y::Y;\npub struct X;\n",
                "src/y.rs": "use crate::x::X;\npub struct Y;\n",
                "src/bin/tool.rs": "mod x { use super::y::Y; }\nmod y { use super::x::*; }\n",
            },
        )
        found = [(c[0], c[2]) for c in self.cycles(d)]
        self.assertEqual(found, [("both[src/main.rs]", ["x", "y"]), ("both[src/bin/tool.rs]", ["x", "y"])])


class CommandLineTests(CrateTestCase):
    def setUp(self):
        super().setUp()
        self.d = self.crate(
            "loop",
            {
                "src/lib.rs": "mod a;\nmod b;\nmod c;\n",
                "src/a.rs": "use crate::b::B;\n",
                "src/b.rs": "use crate::c::C;\n",
                "src/c.rs": "use crate::a::A;\n",
            },
        )

    def allow(self, text):
        path = os.path.join(self.root, "allow")
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        return path

    def test_known_cycle_passes(self):
        allow = self.allow("# known\nloop crate::{a,b,c}\n")
        code, out, _ = self.run_main("--allow", allow, self.d)
        self.assertEqual(code, 0)
        self.assertIn("known loop: crate::{a -> b -> c -> a}", out)
        self.assertIn("no new cycles (1 known", out)

    def test_grown_or_other_cycle_fails(self):
        allow = self.allow("loop crate::{a,b}\n")
        code, out, _ = self.run_main("--allow", allow, self.d)
        self.assertEqual(code, 1)
        self.assertIn("CYCLE loop: crate::{a -> b -> c -> a}", out)

    def test_stale_and_shrunk_entries_are_pointed_out(self):
        allow = self.allow("loop crate::{a,b,c,d}\nloop crate::x::{p,q}\n")
        code, out, _ = self.run_main("--allow", allow, self.d)
        self.assertEqual(code, 0)
        self.assertIn("the cycle has shrunk; the entry can become: loop crate::{a,b,c}", out)
        self.assertIn("`loop crate::x::{p,q}` no longer found; remove it", out)

    def test_bad_allow_line_is_a_usage_error(self):
        allow = self.allow("loop a,b\n")
        code, _, err = self.run_main("--allow", allow, self.d)
        self.assertEqual(code, 2)
        self.assertIn("expected", err)

    def test_workspace_members_are_the_default(self):
        self.crate("clean", {"src/lib.rs": "mod a;\n", "src/a.rs": ""})
        with open(os.path.join(self.root, "Cargo.toml"), "w", encoding="utf-8") as f:
            f.write('[workspace]\nmembers = ["loop", "clean"]\n')
        code, out, _ = self.run_main("--root", self.root)
        self.assertEqual(code, 1)
        self.assertIn("2 crates, 6 modules, 1 new cycle", out)


class RobustnessTests(unittest.TestCase):
    def test_tokenizer_survives_odd_input(self):
        odd = [
            "",
            "'",
            '"unterminated',
            'r#"unterminated',
            "/* unterminated",
            "fn f<'a>('a) {}}}}",
            "b'x' b\"y\" c\"z\" br\"w\" '\\u{1F600}' 'é' r#type",
            "use ;\nuse crate::{;\nuse crate::a::{b,,c};\nuse<'a> x;",
            "#![cfg(test)",
            "#[cfg(all(test)] mod x;",
        ]
        for text in odd:
            with self.subTest(text=text):
                toks = cmc.tokenize(text)
                cmc.match_brackets(toks)

    def test_reading_odd_files_never_crashes(self):
        with tempfile.TemporaryDirectory() as d:
            os.makedirs(os.path.join(d, "src"))
            with open(os.path.join(d, "src", "lib.rs"), "w", encoding="utf-8") as f:
                f.write("mod missing;\nuse crate::{;\n#[cfg(test\nmod a {\nuse super::\n'x: loop {}\n")
            t = cmc.read_target("odd", os.path.join(d, "src", "lib.rs"), d)
            self.assertTrue(t.warnings)
            cmc.find_cycles(t)


if __name__ == "__main__":
    unittest.main()
