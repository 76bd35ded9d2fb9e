//! The kplay playground in the browser: the same `kplay-core` simulation, advanced every
//! animation frame at the chosen speed and drawn from its `View`.
//!
//! Thin by design: state lives in one reducer (`state`), components draw (`components`), hooks
//! own frames and keys (`hooks`). A share link is the URL fragment (`url`); nothing is sent to
//! a server.

pub mod app;
mod clock;
pub mod components;
pub mod flights;
pub mod follow;
pub mod history;
mod hooks;
pub mod log;
pub mod modes;
pub mod state;
pub mod terminal;
pub mod url;

/// A panic must never leave a blank page: the hook logs it and shows what happened, with the
/// link to report (the page's URL reproduces the scenario and the moment).
fn on_panic(info: &std::panic::PanicHookInfo<'_>) {
    report_panic(&info.to_string());
}

/// Logs `message` to the console and puts an alert with it and the page's link at the top of
/// the page. The app may be stuck after a panic, so this writes to the DOM directly.
pub fn report_panic(message: &str) {
    web_sys::console::error_1(&message.into());
    let Some(window) = web_sys::window() else {
        return;
    };
    let link = window.location().href().unwrap_or_default();
    let Some(document) = window.document() else {
        return;
    };
    if let (Some(body), Ok(panel)) = (document.body(), document.create_element("div")) {
        panel.set_class_name("crash");
        panel.set_attribute("role", "alert").ok();
        // Text only (no HTML parsing): the message may contain anything from a URL.
        panel.set_text_content(Some(&format!(
            "kplay stopped because of a bug: {message}\n\nPlease report it with this link, which reproduces the scenario:\n{link}\n\nReload the page to start again."
        )));
        body.prepend_with_node_1(&panel).ok();
    }
}

/// Mounts the playground on the page's body.
pub fn start() {
    std::panic::set_hook(Box::new(on_panic));
    yew::Renderer::<app::App>::new().render();
}
