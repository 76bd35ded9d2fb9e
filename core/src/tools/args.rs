//! Command lines as Kafka's tools read them: shell-style words, then options parsed the way
//! jopt-simple (the parser every Kafka tool uses) parses them — `--name value` or
//! `--name=value`, repeatable options, and unique abbreviations (`--desc` is `--describe`).

use crate::vec_map::VecMap;

/// One option a tool accepts.
#[derive(Clone, Copy, Debug)]
pub struct Opt {
    pub name: &'static str,
    /// What the argument is, for the help text; `None` for a flag.
    pub arg: Option<&'static str>,
    pub help: &'static str,
}

impl Opt {
    pub const fn flag(name: &'static str, help: &'static str) -> Opt {
        Opt {
            name,
            arg: None,
            help,
        }
    }
    pub const fn with_arg(name: &'static str, arg: &'static str, help: &'static str) -> Opt {
        Opt {
            name,
            arg: Some(arg),
            help,
        }
    }
}

/// The options given, by name, each with its values in order.
#[derive(Clone, Debug, Default)]
pub struct Parsed {
    values: VecMap<&'static str, Vec<String>>,
    /// Words that are not options (jopt-simple's "non-option arguments").
    pub positional: Vec<String>,
}

impl Parsed {
    pub fn has(&self, name: &str) -> bool {
        self.values.contains_key(name)
    }
    /// The last value given for an option (jopt-simple's `valueOf` with one value).
    pub fn value(&self, name: &str) -> Option<&str> {
        self.values.get(name)?.last().map(String::as_str)
    }
    pub fn values(&self, name: &str) -> &[String] {
        self.values.get(name).map_or(&[], Vec::as_slice)
    }
    /// An integer option, with jopt-simple's message when it is not one.
    pub fn int(&self, name: &str) -> Result<Option<i64>, String> {
        match self.value(name) {
            None => Ok(None),
            Some(v) => v
                .trim()
                .parse::<i32>()
                .map(|n| Some(n as i64))
                .map_err(|_| format!("Cannot parse argument '{v}' of option {name}")),
        }
    }
}

/// Splits a command line into words: whitespace separates, single and double quotes group,
/// a backslash escapes the next character (outside single quotes).
pub fn words(line: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => word.push(c),
                        None => {
                            return Err("unexpected end of line: a ' quote is not closed".into())
                        }
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c) => word.push(c),
                            None => return Err("unexpected end of line after \\".into()),
                        },
                        Some(c) => word.push(c),
                        None => {
                            return Err("unexpected end of line: a \" quote is not closed".into())
                        }
                    }
                }
            }
            '\\' => {
                in_word = true;
                match chars.next() {
                    Some(c) => word.push(c),
                    None => return Err("unexpected end of line after \\".into()),
                }
            }
            c if c.is_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        out.push(word);
    }
    Ok(out)
}

/// Parses `args` against `opts`. Errors carry jopt-simple's wording.
pub fn parse(opts: &[Opt], args: &[String]) -> Result<Parsed, String> {
    let mut parsed = Parsed::default();
    let mut i = 0;
    while i < args.len() {
        let word = &args[i];
        i += 1;
        let Some(body) = word.strip_prefix("--").or_else(|| {
            // jopt-simple also takes a single dash for long options.
            word.strip_prefix('-').filter(|b| b.len() > 1)
        }) else {
            parsed.positional.push(word.clone());
            continue;
        };
        if body.is_empty() {
            // `--` ends the options.
            parsed.positional.extend(args[i..].iter().cloned());
            break;
        }
        let (name, inline) = match body.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (body, None),
        };
        let opt = find(opts, name).ok_or_else(|| format!("{name} is not a recognized option"))?;
        let value = match (opt.arg, inline) {
            (None, Some(_)) => {
                return Err(format!("Option {} does not take an argument", opt.name))
            }
            (None, None) => None,
            (Some(_), Some(v)) => Some(v),
            (Some(_), None) => match args.get(i) {
                Some(v) if !v.starts_with("--") => {
                    i += 1;
                    Some(v.clone())
                }
                _ => return Err(format!("Option {} requires an argument", opt.name)),
            },
        };
        let entry = parsed.values.entry(opt.name).or_default();
        if let Some(v) = value {
            entry.push(v);
        }
    }
    Ok(parsed)
}

/// An option by its full name or a unique abbreviation of it.
fn find<'a>(opts: &'a [Opt], name: &str) -> Option<&'a Opt> {
    if let Some(exact) = opts.iter().find(|o| o.name == name) {
        return Some(exact);
    }
    let mut prefixed = opts.iter().filter(|o| o.name.starts_with(name));
    match (prefixed.next(), prefixed.next()) {
        (Some(only), None) if !name.is_empty() => Some(only),
        _ => None,
    }
}

/// `name=value` pairs (`--config`, `--producer-property`) applied over `base`: a config type
/// whose serde names are Kafka's property names. Numbers and booleans are typed as JSON would
/// have them; a name kplay does not model is refused with the list of those it does.
pub fn apply_properties<T: serde::Serialize + serde::de::DeserializeOwned>(
    base: &T,
    pairs: &[String],
    what: &str,
    modeled: &[&str],
) -> Result<T, String> {
    let serde_json::Value::Object(mut map) =
        serde_json::to_value(base).map_err(|e| e.to_string())?
    else {
        return Err(format!("{what} settings are not a map"));
    };
    for pair in pairs {
        let Some((name, value)) = pair.split_once('=') else {
            return Err(format!(
                "Invalid {what} property '{pair}': all properties must be in the format \"key=val\"."
            ));
        };
        let (name, value) = (name.trim(), value.trim());
        if !modeled.contains(&name) {
            return Err(format!(
                "Unknown {what} config name: {name} (kplay models {})",
                modeled.join(", ")
            ));
        }
        // Typed like the setting it replaces (acks is the string "1"); unset ones by their look.
        let number = value.parse::<i64>().ok().map(serde_json::Value::from);
        let boolean = value.parse::<bool>().ok().map(serde_json::Value::from);
        let text = serde_json::Value::from(value);
        let json = match map.get(name) {
            Some(serde_json::Value::String(_)) => text,
            Some(serde_json::Value::Number(_)) => number.unwrap_or(text),
            Some(serde_json::Value::Bool(_)) => boolean.unwrap_or(text),
            _ => number.or(boolean).unwrap_or(text),
        };
        map.insert(name.to_string(), json);
    }
    serde_json::from_value(serde_json::Value::Object(map))
        .map_err(|e| format!("Invalid value for a {what} config: {e}"))
}

/// The help table jopt-simple prints: `Option` and `Description` columns.
pub fn help(intro: &str, opts: &[Opt]) -> String {
    let rows: Vec<(String, &str)> = opts
        .iter()
        .map(|o| {
            let left = match o.arg {
                Some(arg) => format!("--{} <{arg}>", o.name),
                None => format!("--{}", o.name),
            };
            (left, o.help)
        })
        .collect();
    let width = rows.iter().map(|(l, _)| l.len()).max().unwrap_or(6).max(6) + 2;
    let mut out = format!(
        "{intro}\n{:width$}Description\n{:width$}-----------\n",
        "Option", "------"
    );
    for (left, help) in rows {
        out.push_str(&format!("{left:width$}{help}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(line: &str) -> Vec<String> {
        words(line).unwrap()
    }

    #[test]
    fn words_split_like_a_shell() {
        assert_eq!(w("a  b\tc"), ["a", "b", "c"]);
        assert_eq!(
            w(r#"--config 'a b' "c \"d\"" e\ f"#),
            ["--config", "a b", "c \"d\"", "e f"]
        );
        assert_eq!(w("x ''"), ["x", ""]);
        assert!(words("'open").is_err());
        assert!(words("\"open").is_err());
        assert!(words("end\\").is_err());
    }

    const OPTS: &[Opt] = &[
        Opt::flag("describe", ""),
        Opt::flag("delete", ""),
        Opt::with_arg("topic", "topic", ""),
        Opt::with_arg("config", "name=value", ""),
        Opt::with_arg("partitions", "n", ""),
    ];

    #[test]
    fn options_take_values_repeat_and_abbreviate() {
        let p = parse(
            OPTS,
            &w("--desc --topic=a --config x=1 --config y=2 pos --partitions 3"),
        )
        .unwrap();
        assert!(p.has("describe") && !p.has("delete"));
        assert_eq!(p.value("topic"), Some("a"));
        assert_eq!(p.values("config"), ["x=1", "y=2"]);
        assert_eq!(p.int("partitions"), Ok(Some(3)));
        assert_eq!(p.positional, ["pos"]);
    }

    #[test]
    fn bad_options_get_jopt_simple_messages() {
        let err = |line: &str| parse(OPTS, &w(line)).unwrap_err();
        assert_eq!(err("--lisst"), "lisst is not a recognized option");
        // `--de` could be --describe or --delete.
        assert_eq!(err("--de"), "de is not a recognized option");
        assert_eq!(err("--topic"), "Option topic requires an argument");
        assert_eq!(
            err("--topic --describe"),
            "Option topic requires an argument"
        );
        assert_eq!(
            err("--describe=1"),
            "Option describe does not take an argument"
        );
        let p = parse(OPTS, &w("--partitions three")).unwrap();
        assert_eq!(
            p.int("partitions"),
            Err("Cannot parse argument 'three' of option partitions".into())
        );
    }

    #[test]
    fn help_lines_up_its_columns() {
        let opts = [
            Opt::flag("list", "List all available topics."),
            Opt::with_arg("bootstrap-server", "server to connect to", "REQUIRED."),
        ];
        let h = help("Intro.", &opts);
        let lines: Vec<&str> = h.lines().collect();
        assert_eq!(lines[0], "Intro.");
        let column = lines[1].find("Description").unwrap();
        assert_eq!(lines[3].find("List all"), Some(column));
        assert!(lines[4].starts_with("--bootstrap-server <server to connect to>"));
        assert_eq!(lines[4].find("REQUIRED."), Some(column));
    }
}
