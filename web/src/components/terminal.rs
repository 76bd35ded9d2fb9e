//! The terminal: Kafka's tools typed against the running cluster. Enter runs a line, ↑/↓ walk
//! the history, Tab completes, Ctrl-C stops a console consumer, Ctrl-D (or an empty line)
//! ends console producer input. What it changes is recorded, so a share link replays it.

use super::PanelProps;
use crate::state::Action;
use crate::terminal::LineKind;
use kplay_core::tools::{complete, Mode};
use yew::prelude::*;

/// Commands offered as one-click starters.
const EXAMPLES: &[&str] = &[
    "kafka-topics.sh --bootstrap-server localhost:9092 --describe --exclude-internal",
    "kafka-consumer-groups.sh --bootstrap-server localhost:9092 --describe --all-groups",
    "zookeeper-shell.sh localhost:2181 get /controller",
    "kill broker 1",
];

#[component]
pub fn TerminalPanel(props: &PanelProps) -> Html {
    let input = use_state(String::new);
    // Where ↑/↓ is in the history: None = the line being typed.
    let recalled = use_state(|| None::<usize>);
    let choices = use_state(Vec::<String>::new);
    let output_ref = use_node_ref();
    let input_ref = use_node_ref();
    {
        // Keep the newest output in sight.
        let output_ref = output_ref.clone();
        use_effect_with(props.version, move |_| {
            if let Some(el) = output_ref.cast::<web_sys::Element>() {
                el.set_scroll_top(el.scroll_height());
            }
        });
    }
    let inner = props.state.get();
    let terminal = &inner.terminal;
    let mode = terminal.mode();
    let history = terminal.history.clone();
    let on_input = {
        let input = input.clone();
        let choices = choices.clone();
        Callback::from(move |e: InputEvent| {
            let el: web_sys::HtmlInputElement = e.target_unchecked_into();
            input.set(el.value());
            choices.set(Vec::new());
        })
    };
    let on_key = {
        let (input, recalled, choices) = (input.clone(), recalled.clone(), choices.clone());
        let dispatch = props.dispatch.clone();
        let state = props.state.clone();
        Callback::from(move |e: KeyboardEvent| {
            let key = e.key();
            match key.as_str() {
                "Enter" => {
                    e.prevent_default();
                    dispatch.emit(Action::Terminal((*input).clone()));
                    input.set(String::new());
                    recalled.set(None);
                    choices.set(Vec::new());
                }
                // Ctrl-C stops what runs (or drops the line); Ctrl-D ends console input.
                "c" if e.ctrl_key() => {
                    e.prevent_default();
                    dispatch.emit(Action::TerminalInterrupt);
                    input.set(String::new());
                }
                "d" if e.ctrl_key() => {
                    e.prevent_default();
                    if mode == Mode::ProducerInput {
                        dispatch.emit(Action::TerminalInterrupt);
                    }
                }
                // ↑ walks back through the history, ↓ forward to the line being typed.
                "ArrowUp" | "ArrowDown" if !history.is_empty() => {
                    e.prevent_default();
                    let last = history.len() - 1;
                    let next = match (key.as_str(), *recalled) {
                        ("ArrowUp", None) => Some(last),
                        ("ArrowUp", Some(i)) => Some(i.saturating_sub(1)),
                        ("ArrowDown", Some(i)) if i < last => Some(i + 1),
                        ("ArrowDown", None) => return,
                        _ => None,
                    };
                    input.set(next.map_or(String::new(), |i| history[i].clone()));
                    recalled.set(next);
                }
                "Tab" => {
                    e.prevent_default();
                    let found = complete(&state.get().sim, &input);
                    match found.as_slice() {
                        [] => choices.set(Vec::new()),
                        [only] => {
                            input.set(format!("{only} "));
                            choices.set(Vec::new());
                        }
                        many => {
                            input.set(common_prefix(many));
                            choices.set(many.to_vec());
                        }
                    }
                }
                _ => {}
            }
        })
    };
    let copy = {
        let text = terminal.text();
        Callback::from(move |_| {
            let _ = gloo_utils::window()
                .navigator()
                .clipboard()
                .write_text(&text);
        })
    };
    let run_example = |line: &'static str| {
        let input = input.clone();
        let input_ref = input_ref.clone();
        Callback::from(move |_| {
            input.set(line.to_string());
            if let Some(el) = input_ref.cast::<web_sys::HtmlElement>() {
                let _ = el.focus();
            }
        })
    };
    let status = match mode {
        Mode::Command if terminal.busy() => {
            "waiting for the controller's answer (the simulation must run)"
        }
        Mode::Command => "",
        Mode::ProducerInput => {
            "console producer: one record per line; an empty line or Ctrl-D ends"
        }
        Mode::Consuming => {
            "console consumer: records print as the group consumes them; Ctrl-C stops"
        }
    };
    html! {
        <div class="terminal">
            <div class="term-bar">
                <span class="muted">{ "Kafka's own tools against this cluster · Tab completes · ↑/↓ history" }</span>
                <button onclick={copy} title="Copy the terminal's text">{ "Copy" }</button>
                <button onclick={props.dispatch.reform(|_| Action::TerminalClear)}>{ "Clear" }</button>
                { if mode == Mode::Consuming {
                    html! { <button onclick={props.dispatch.reform(|_| Action::TerminalInterrupt)}>{ "Stop (Ctrl-C)" }</button> }
                } else { html! {} } }
            </div>
            <pre class="term-out" ref={output_ref} aria-live="polite" aria-label="Terminal output">
                { for terminal.lines.iter().map(|l| {
                    let class = match l.kind {
                        LineKind::Input => "in",
                        LineKind::Stdout => "out",
                        LineKind::Stderr => "err",
                        LineKind::Note => "note",
                    };
                    html! { <span class={class}>{ format!("{}\n", l.text) }</span> }
                }) }
            </pre>
            <div class="term-input">
                <span class="prompt">{ terminal.prompt() }</span>
                <input ref={input_ref.clone()} type="text" spellcheck="false" autocomplete="off" aria-label="Terminal command"
                       value={(*input).clone()} oninput={on_input} onkeydown={on_key} />
            </div>
            { if !status.is_empty() { html! { <p class="muted term-status">{ status }</p> } } else { html! {} } }
            { if !choices.is_empty() {
                html! { <p class="term-choices">{ for choices.iter().map(|c| html! { <code>{ c.rsplit(' ').next().unwrap_or(c).to_string() }</code> }) }</p> }
            } else { html! {} } }
            <div class="term-examples">
                <span class="muted">{ "Try: " }</span>
                { for EXAMPLES.iter().map(|ex| html! { <button class="chip-toggle" onclick={run_example(ex)}>{ *ex }</button> }) }
            </div>
        </div>
    }
}

/// The longest start all of `lines` share (Tab with several matches completes that far).
fn common_prefix(lines: &[String]) -> String {
    let first = &lines[0];
    let mut end = first.len();
    for l in &lines[1..] {
        end = end.min(
            first
                .char_indices()
                .zip(l.chars())
                .find(|((_, a), b)| a != b)
                .map_or(first.len().min(l.len()), |((i, _), _)| i),
        );
    }
    first[..end].to_string()
}
