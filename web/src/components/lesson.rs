//! The lessons panel: pick a lesson, read it step by step, press "try this" to do a step
//! (kill the leader, add a consumer…), and answer the lesson's question.

use crate::state::{Action, Inner};
use kplay_core::lessons;
use std::rc::Rc;
use yew::prelude::*;

pub fn lesson_picker(
    list: &Rc<Vec<(&'static str, String)>>,
    current: &str,
    dispatch: &Callback<Action>,
) -> Html {
    let onchange = dispatch.reform(|e: Event| {
        let select: web_sys::HtmlSelectElement = e.target_unchecked_into();
        Action::LoadLesson(select.value())
    });
    html! {
        <label class="picker">{ "Lesson " }
            <select {onchange} aria-label="Choose a lesson">
                { for list.iter().enumerate().map(|(i, (name, title))| html! {
                    <option value={*name} selected={*name == current}>{ format!("{}. {title}", i + 1) }</option>
                }) }
                { if list.iter().any(|(n, _)| *n == current) { html! {} } else {
                    html! { <option value="" selected=true disabled=true>{ "— a custom scenario —" }</option> }
                } }
            </select>
        </label>
    }
}

pub fn lesson_panel(inner: &Inner, dispatch: &Callback<Action>) -> Html {
    let Some(lesson) = &inner.loaded.lesson else {
        return html! {
            <p class="muted">{ "This scenario has no lesson text. Pick a lesson above, or explore: select a broker or a ZooKeeper server and press k to kill it (r restarts it), and watch the event log." }</p>
        };
    };
    let step = inner.lesson_step.min(lesson.steps.len().saturating_sub(1));
    html! {
        <div class="lesson">
            <h3>{ lesson.title.clone() }</h3>
            <ol class="steps">
                { for lesson.steps.iter().enumerate().map(|(i, s)| {
                    let current = i == step;
                    let select = dispatch.reform(move |_| Action::SetLessonStep(i));
                    html! {
                        <li class={classes!(current.then_some("current"))} onclick={select}>
                            <p>{ s.text.clone() }</p>
                            { if s.look_at.is_empty() { html! {} } else { html! { <p class="look">{ format!("Look at: {}", s.look_at) }</p> } } }
                            { match &s.action {
                                Some(command) if current => {
                                    let command = command.clone();
                                    let label = format!("Try this: {}", command.describe());
                                    let next = (i + 1).min(lesson.steps.len() - 1);
                                    let dispatch = dispatch.clone();
                                    let onclick = Callback::from(move |e: MouseEvent| {
                                        e.stop_propagation();
                                        dispatch.emit(Action::Act(command.clone()));
                                        dispatch.emit(Action::SetLessonStep(next));
                                    });
                                    html! { <button class="try" {onclick}>{ label }</button> }
                                }
                                _ => html! {},
                            } }
                        </li>
                    }
                }) }
            </ol>
            <div class="nav">
                <button disabled={step == 0} onclick={dispatch.reform(move |_| Action::SetLessonStep(step.saturating_sub(1)))}>{ "← previous step" }</button>
                <button disabled={step + 1 >= lesson.steps.len()} onclick={dispatch.reform(move |_| Action::SetLessonStep(step + 1))}>{ "next step →" }</button>
            </div>
            <div class="question">
                <p><b>{ "Question: " }</b>{ lesson.question.clone() }</p>
                <details><summary>{ "Show the answer" }</summary><p>{ lesson.answer.clone() }</p></details>
            </div>
        </div>
    }
}

/// Every lesson, parsed once.
pub fn all_lessons() -> Vec<(&'static str, String)> {
    lessons::list()
}
