//! Hooks that own the page's timers: animation frames and keyboard shortcuts.

use gloo_render::{request_animation_frame, AnimationFrame};
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use yew::prelude::*;

/// Calls `on_frame` with the wall milliseconds since the previous frame, every frame, for as
/// long as the component lives.
#[hook]
pub fn use_animation_frame(on_frame: Callback<f64>) {
    use_effect_with((), move |_| {
        let handle: Rc<RefCell<Option<AnimationFrame>>> = Rc::default();
        let last: Rc<Cell<Option<f64>>> = Rc::default();
        schedule(handle.clone(), last, on_frame);
        move || drop(handle.borrow_mut().take())
    });
}

fn schedule(
    handle: Rc<RefCell<Option<AnimationFrame>>>,
    last: Rc<Cell<Option<f64>>>,
    on_frame: Callback<f64>,
) {
    let next = handle.clone();
    let frame = request_animation_frame(move |timestamp| {
        let wall_ms = last
            .replace(Some(timestamp))
            .map_or(16.0, |l| timestamp - l);
        on_frame.emit(wall_ms);
        schedule(next, last, on_frame);
    });
    *handle.borrow_mut() = Some(frame);
}

/// Calls `on_key` for every key pressed outside text fields.
#[hook]
pub fn use_keydown(on_key: Callback<KeyboardEvent>) {
    use_effect_with((), move |_| {
        let document = gloo_utils::document();
        let options = gloo_events::EventListenerOptions::enable_prevent_default();
        let listener = gloo_events::EventListener::new_with_options(
            &document,
            "keydown",
            options,
            move |event| {
                let Some(event) = event.dyn_ref::<KeyboardEvent>() else {
                    return;
                };
                let typing = event
                    .target()
                    .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
                    .is_some_and(|e| {
                        matches!(e.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT")
                    });
                if !typing && !event.ctrl_key() && !event.meta_key() && !event.alt_key() {
                    on_key.emit(event.clone());
                }
            },
        );
        move || drop(listener)
    });
}

use wasm_bindgen::JsCast;
