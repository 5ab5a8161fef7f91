//! The module graph of `src/` has no cycles (issue 13): a module may use the modules below it,
//! never one that, directly or through others, uses it back.
//!
//! A module here is a file: `src/service/auth/login.rs` is `service::auth::login`, a `mod.rs`
//! is its directory's module, and inline modules (`mod tests { … }`) belong to their file. A
//! dependency is any path the file names that resolves to another module: `use crate::…` trees,
//! `crate::…` paths in code, `super::…` and `self::…` paths, and paths that start with a module
//! imported by name (`use crate::storage;` then `storage::accounts::find`) or with a child module
//! (`mod dispatch;` then `dispatch::run`). Declaring a child (`mod x;`) is not a dependency,
//! nor is a child's use of its ancestors' items (`super::Policy` in `web::assets`): a child
//! lives inside its parent's scope. A parent's use of a child is one (it calls or re-exports
//! it), so a module that uses a re-exporting parent depends on the children behind it.
//! `lib.rs` (the composition root, which builds everything) and `main.rs` (another crate)
//! stand outside the graph.
//!
//! The parser is small and deliberate: comments, strings and character literals are blanked
//! out, then identifiers and `::`, `{`, `}`, `,` and `;` are read as tokens. It does not expand
//! macros or follow glob re-exports; a path written inside a macro's body is still read.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

#[test]
fn the_module_graph_of_src_has_no_cycles() {
    let graph = Graph::of_crate(Path::new(env!("CARGO_MANIFEST_DIR")).join("src").as_path());
    assert!(
        graph.modules.len() > 20,
        "the scan found only {} modules: is it reading src/?",
        graph.modules.len()
    );
    let cycles = graph.cycles();
    assert!(
        cycles.is_empty(),
        "import cycles between modules of src/ (each line: a cycle, then the references that make it):\n{}",
        cycles.join("\n")
    );
}

/// The check itself: a cycle written into a throwaway tree is found and printed, and the same
/// tree without the back edge passes. Without this, a parser that read nothing would pass.
#[test]
fn a_cycle_is_found_and_named() {
    let dir = std::env::temp_dir().join(format!("berth-architecture-{}", std::process::id()));
    let write = |path: &str, text: &str| {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write("lib.rs", "pub mod service;\npub mod storage;\n");
    write("service/mod.rs", "pub mod audit;\npub mod auth;\n");
    write(
        "service/auth.rs",
        "//! crate::storage in a comment is no dependency\nuse crate::service::{audit::{self, Actor}};\nfn f() { let s = \"super::nothing\"; audit::record(); }\n",
    );
    write("storage/mod.rs", "pub mod accounts;\npub struct Store;\n");
    write("storage/accounts.rs", "use super::Store;\n");
    write(
        "service/audit.rs",
        "use crate::storage;\npub struct Actor;\npub fn record() { storage::accounts::x(); }\n#[cfg(test)]\nmod tests { use super::Actor; }\n",
    );
    let clean = Graph::of_crate(&dir);
    assert_eq!(
        clean.edges_from("service::auth"),
        ["service::audit"],
        "the use tree names audit; the comment and the string name nothing"
    );
    assert_eq!(
        clean.edges_from("service::audit"),
        ["storage::accounts"],
        "an imported module resolves through the path that uses it; tests' super is the file"
    );
    assert!(
        clean.edges_from("storage::accounts").is_empty(),
        "a child's use of its parent's items is scope, not a dependency"
    );
    assert_eq!(clean.edges_from("storage"), Vec::<&str>::new());
    assert!(clean.cycles().is_empty(), "{:?}", clean.cycles());

    write(
        "service/audit.rs",
        "pub struct Actor;\npub fn record() { super::auth::login(); }\n",
    );
    let cyclic = Graph::of_crate(&dir);
    let cycles = cyclic.cycles();
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(cycles.len(), 1, "{cycles:?}");
    assert!(
        cycles[0].starts_with("service::audit -> service::auth -> service::audit"),
        "{}",
        cycles[0]
    );
}

/// Modules and the references between them.
struct Graph {
    /// Every module of the crate, `crate` excluded (`service::auth`).
    modules: BTreeSet<String>,
    /// `from` → `to` → the first reference seen (`src/x.rs:12 crate::y::z`).
    edges: BTreeMap<String, BTreeMap<String, String>>,
}

impl Graph {
    fn of_crate(src: &Path) -> Graph {
        let mut files = Vec::new();
        collect_rs(src, &mut files);
        files.sort();
        let module_of = |file: &Path| -> Option<String> {
            let relative = file.strip_prefix(src).ok()?.with_extension("");
            let mut parts: Vec<String> = relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if parts.last().is_some_and(|last| last == "mod") {
                parts.pop();
            }
            match parts.as_slice() {
                [only] if only == "lib" || only == "main" => None,
                _ => Some(parts.join("::")),
            }
        };
        let modules: BTreeSet<String> = files.iter().filter_map(|f| module_of(f)).collect();
        let mut edges: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
        for file in &files {
            let Some(module) = module_of(file) else {
                continue;
            };
            let text = std::fs::read_to_string(file).unwrap();
            let shown = file
                .strip_prefix(src.parent().unwrap_or(src))
                .unwrap_or(file);
            for (line, path) in paths_in(&text, &module, &modules) {
                let Some(target) = resolve(&path, &modules) else {
                    continue;
                };
                // Itself, or one of its ancestors: a child module lives inside its parent and
                // sees the parent's items as a block sees the enclosing scope (Rust lets it read
                // even the private ones for that reason). The other way counts: a parent that
                // calls or re-exports a child depends on it, and so does whoever uses the parent.
                if target == module || module.starts_with(&format!("{target}::")) {
                    continue;
                }
                edges
                    .entry(module.clone())
                    .or_default()
                    .entry(target)
                    .or_insert_with(|| format!("{}:{line} {}", shown.display(), path.join("::")));
            }
        }
        Graph { modules, edges }
    }

    fn edges_from(&self, module: &str) -> Vec<&str> {
        self.edges
            .get(module)
            .map(|targets| targets.keys().map(String::as_str).collect())
            .unwrap_or_default()
    }

    /// One line per strongly connected component with more than one module: a shortest cycle
    /// through its first module, then every reference inside the component.
    fn cycles(&self) -> Vec<String> {
        let mut out = Vec::new();
        for component in self.components() {
            if component.len() < 2 {
                continue;
            }
            let start = &component[0];
            let cycle = self.shortest_cycle(start, &component);
            let mut references = Vec::new();
            for from in &component {
                for (to, at) in self.edges.get(from).into_iter().flatten() {
                    if component.contains(to) {
                        references.push(format!("    {from} -> {to}   ({at})"));
                    }
                }
            }
            out.push(format!("{}\n{}", cycle.join(" -> "), references.join("\n")));
        }
        out
    }

    fn shortest_cycle(&self, start: &str, within: &[String]) -> Vec<String> {
        let mut previous: BTreeMap<String, String> = BTreeMap::new();
        let mut queue = std::collections::VecDeque::from([start.to_owned()]);
        while let Some(node) = queue.pop_front() {
            for next in self.edges_from(&node) {
                if !within.iter().any(|m| m == next) {
                    continue;
                }
                if next == start {
                    let mut cycle = vec![start.to_owned(), node.clone()];
                    while cycle.last().is_some_and(|at| at != start) {
                        let at = cycle.last().unwrap().clone();
                        cycle.push(previous[&at].clone());
                    }
                    cycle.reverse();
                    return cycle;
                }
                if next != start && !previous.contains_key(next) {
                    previous.insert(next.to_owned(), node.clone());
                    queue.push_back(next.to_owned());
                }
            }
        }
        vec![start.to_owned()]
    }

    /// Tarjan's strongly connected components, each sorted, in module order.
    fn components(&self) -> Vec<Vec<String>> {
        struct State<'a> {
            graph: &'a Graph,
            index: BTreeMap<&'a str, usize>,
            low: BTreeMap<&'a str, usize>,
            stack: Vec<&'a str>,
            on_stack: BTreeSet<&'a str>,
            out: Vec<Vec<String>>,
        }
        fn visit<'a>(s: &mut State<'a>, node: &'a str) {
            let i = s.index.len();
            s.index.insert(node, i);
            s.low.insert(node, i);
            s.stack.push(node);
            s.on_stack.insert(node);
            for next in s.graph.edges_from(node) {
                if !s.index.contains_key(next) {
                    visit(s, next);
                    let low = s.low[next].min(s.low[node]);
                    s.low.insert(node, low);
                } else if s.on_stack.contains(next) {
                    let low = s.index[next].min(s.low[node]);
                    s.low.insert(node, low);
                }
            }
            if s.low[node] == s.index[node] {
                let mut component = Vec::new();
                while let Some(top) = s.stack.pop() {
                    s.on_stack.remove(top);
                    component.push(top.to_owned());
                    if top == node {
                        break;
                    }
                }
                component.sort();
                s.out.push(component);
            }
        }
        let mut state = State {
            graph: self,
            index: BTreeMap::new(),
            low: BTreeMap::new(),
            stack: Vec::new(),
            on_stack: BTreeSet::new(),
            out: Vec::new(),
        };
        for module in &self.modules {
            if !state.index.contains_key(module.as_str()) {
                visit(&mut state, module);
            }
        }
        let mut out = state.out;
        out.sort();
        out
    }
}

fn collect_rs(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect_rs(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The longest prefix of `path` (absolute, from the crate root) that is a module.
fn resolve(path: &[String], modules: &BTreeSet<String>) -> Option<String> {
    (1..=path.len())
        .rev()
        .map(|n| path[..n].join("::"))
        .find(|candidate| modules.contains(candidate))
}

#[derive(Debug, PartialEq)]
enum Token {
    Ident(String),
    Colons,
    Open,
    Close,
    Comma,
    Semi,
    Other,
}

/// The file's text as tokens with their line numbers; comments, strings, character literals
/// and lifetimes are dropped.
fn tokens(text: &str) -> Vec<(usize, Token)> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let (mut i, mut line) = (0, 1);
    let count_lines = |from: usize, to: usize, line: &mut usize| {
        *line += chars[from..to].iter().filter(|&&c| c == '\n').count();
    };
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '\n' {
            line += 1;
            i += 1;
        } else if c.is_whitespace() {
            i += 1;
        } else if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let (start, mut depth) = (i, 0);
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            count_lines(start, i.min(chars.len()), &mut line);
        } else if c == 'r' && (next == Some('"') || (next == Some('#') && raw_string_at(&chars, i)))
        {
            // Raw string r"…", r#"…"#, …
            let start = i;
            i += 1;
            let mut hashes = 0;
            while chars.get(i) == Some(&'#') {
                hashes += 1;
                i += 1;
            }
            i += 1; // the opening quote
            loop {
                if i >= chars.len() {
                    break;
                }
                if chars[i] == '"' && (1..=hashes).all(|h| chars.get(i + h) == Some(&'#')) {
                    i += 1 + hashes;
                    break;
                }
                i += 1;
            }
            count_lines(start, i.min(chars.len()), &mut line);
            out.push((line, Token::Other));
        } else if c == '"' || (c == 'b' && next == Some('"')) {
            let start = i;
            i += if c == 'b' { 2 } else { 1 };
            while i < chars.len() && chars[i] != '"' {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
            count_lines(start, i.min(chars.len()), &mut line);
            out.push((line, Token::Other));
        } else if c == '\'' {
            // A character literal ('a', '\n', '\u{1F600}') or a lifetime ('a, 'static).
            if next == Some('\\') {
                i += 2;
                while i < chars.len() && chars[i] != '\'' {
                    i += 1;
                }
                i += 1;
            } else if chars.get(i + 2) == Some(&'\'') {
                i += 3;
            } else {
                i += 1;
                while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
            }
            out.push((line, Token::Other));
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            // `r#type` (a raw identifier) is the identifier `type`.
            out.push((line, Token::Ident(word)));
        } else if c.is_ascii_digit() {
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push((line, Token::Other));
        } else if c == ':' && next == Some(':') {
            out.push((line, Token::Colons));
            i += 2;
        } else {
            out.push((
                line,
                match c {
                    '{' => Token::Open,
                    '}' => Token::Close,
                    ',' => Token::Comma,
                    ';' => Token::Semi,
                    _ => Token::Other,
                },
            ));
            i += 1;
        }
    }
    out
}

fn raw_string_at(chars: &[char], i: usize) -> bool {
    let mut j = i + 1;
    while chars.get(j) == Some(&'#') {
        j += 1;
    }
    chars.get(j) == Some(&'"')
}

/// Every path the file names, made absolute (from the crate root), with its line.
fn paths_in(text: &str, module: &str, modules: &BTreeSet<String>) -> Vec<(usize, Vec<String>)> {
    let tokens = tokens(text);
    let here: Vec<String> = module.split("::").map(str::to_owned).collect();
    // Names bound in this file to modules: `crate`, child modules, `use`d modules. Collected
    // in a first pass, since a `use` may come after the code that relies on it.
    let mut aliases: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for child in modules {
        if let Some(rest) = child.strip_prefix(&format!("{module}::")) {
            if !rest.contains("::") {
                let mut path = here.clone();
                path.push(rest.to_owned());
                aliases.insert(rest.to_owned(), path);
            }
        }
    }
    let mut out = Vec::new();
    // Inline modules (`mod tests {`) change what `super` and `self` mean; track them by depth.
    let mut inline: Vec<(String, usize)> = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    let mut use_paths = Vec::new();
    let mut code_paths = Vec::new();
    while i < tokens.len() {
        let (line, token) = &tokens[i];
        match token {
            Token::Open => depth += 1,
            Token::Close => {
                depth = depth.saturating_sub(1);
                if inline.last().is_some_and(|(_, d)| *d == depth) {
                    inline.pop();
                }
            }
            Token::Ident(word) if word == "mod" => {
                if let (Some((_, Token::Ident(name))), Some((_, Token::Open))) =
                    (tokens.get(i + 1), tokens.get(i + 2))
                {
                    inline.push((name.clone(), depth));
                }
            }
            Token::Ident(word) if word == "use" => {
                let inner = inline.len();
                let (trees, end) = use_tree(&tokens, i + 1);
                for tree in trees {
                    use_paths.push((*line, inner, tree));
                }
                i = end;
                continue;
            }
            Token::Ident(first)
                if !matches!(tokens.get(i.wrapping_sub(1)), Some((_, Token::Colons)))
                    && matches!(tokens.get(i + 1), Some((_, Token::Colons))) =>
            {
                let mut path = vec![first.clone()];
                let mut j = i + 1;
                while let (Some((_, Token::Colons)), Some((_, Token::Ident(next)))) =
                    (tokens.get(j), tokens.get(j + 1))
                {
                    path.push(next.clone());
                    j += 2;
                }
                code_paths.push((*line, inline.len(), path));
                i = j;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    let absolute = |path: &[String], inner: usize, aliases: &BTreeMap<String, Vec<String>>| {
        let mut base = here.clone();
        let mut rest = path;
        // Inside an inline module, `super` first climbs out of it, to the file itself.
        let mut inner = inner;
        match rest.first().map(String::as_str) {
            Some("crate") => {
                base.clear();
                rest = &rest[1..];
            }
            Some("self") => rest = &rest[1..],
            Some("super") => {
                while rest.first().is_some_and(|s| s == "super") {
                    if inner > 0 {
                        inner -= 1;
                    } else {
                        base.pop();
                    }
                    rest = &rest[1..];
                }
            }
            Some(name) => match aliases.get(name) {
                Some(target) => {
                    base = target.clone();
                    rest = &rest[1..];
                }
                None => return None,
            },
            None => return None,
        }
        let mut path = base;
        path.extend(rest.iter().cloned());
        Some(path)
    };
    for (line, inner, (path, alias)) in &use_paths {
        if let Some(absolute) = absolute(path, *inner, &aliases) {
            // `use crate::storage;` binds a name; the paths that go through it are the uses.
            if let Some(name) = alias {
                if modules.contains(&absolute.join("::")) {
                    aliases.insert(name.clone(), absolute);
                    continue;
                }
            }
            out.push((*line, absolute));
        }
    }
    for (line, inner, path) in &code_paths {
        if let Some(absolute) = absolute(path, *inner, &aliases) {
            out.push((*line, absolute));
        }
    }
    out
}

/// A `use` tree's leaf: the full path, and the name it binds.
type Leaf = (Vec<String>, Option<String>);

/// The leaves of a `use` tree starting at `start`: each full path, with the name it binds
/// (`None` for a glob or `as _`), and the index after the closing `;`.
fn use_tree(tokens: &[(usize, Token)], start: usize) -> (Vec<Leaf>, usize) {
    fn tree(
        tokens: &[(usize, Token)],
        mut i: usize,
        mut path: Vec<String>,
        out: &mut Vec<Leaf>,
    ) -> usize {
        let token = |i: usize| tokens.get(i).map(|(_, t)| t);
        if token(i) == Some(&Token::Colons) {
            i += 1; // `use ::std::…`
        }
        loop {
            match token(i) {
                Some(Token::Ident(word)) if word != "as" => {
                    path.push(word.clone());
                    i += 1;
                    if token(i) == Some(&Token::Colons) {
                        i += 1;
                        continue;
                    }
                    break;
                }
                Some(Token::Open) => {
                    i += 1;
                    while !matches!(token(i), Some(Token::Close) | None) {
                        i = tree(tokens, i, path.clone(), out);
                        if token(i) == Some(&Token::Comma) {
                            i += 1;
                        }
                    }
                    return i + 1;
                }
                Some(Token::Other) => {
                    // `*`: a glob names its parent path.
                    out.push((path, None));
                    return i + 1;
                }
                _ => break,
            }
        }
        let mut bound = path.last().cloned();
        if bound.as_deref() == Some("self") {
            path.pop();
            bound = path.last().cloned();
        }
        if matches!(token(i), Some(Token::Ident(word)) if word == "as") {
            bound = match token(i + 1) {
                Some(Token::Ident(alias)) if alias != "_" => Some(alias.clone()),
                _ => None,
            };
            i += 2;
        }
        if !path.is_empty() {
            out.push((path, bound));
        }
        i
    }
    let mut out = Vec::new();
    let mut i = tree(tokens, start, Vec::new(), &mut out);
    while i < tokens.len() && tokens[i].1 != Token::Semi {
        i += 1;
    }
    (out, i + 1)
}
