//! The help overlay: keyboard shortcuts and how to read the page.

use crate::state::Action;
use yew::prelude::*;

pub fn help(dispatch: &Callback<Action>) -> Html {
    let close = dispatch.reform(|_| Action::CloseHelp);
    html! {
        <div class="overlay" role="dialog" aria-modal="true" aria-label="Help" onclick={close.clone()}>
            <div class="dialog" onclick={Callback::from(|e: MouseEvent| e.stop_propagation())}>
                <h2>{ "Keyboard shortcuts" }</h2>
                <table>
                    <tr><td><kbd>{ "space" }</kbd></td><td>{ "play / pause" }</td></tr>
                    <tr><td><kbd>{ "→" }</kbd></td><td>{ "handle the next event only" }</td></tr>
                    <tr><td><kbd>{ "?" }</kbd></td><td>{ "this help" }</td></tr>
                    <tr><td><kbd>{ "Esc" }</kbd></td><td>{ "close it, or close the inspector" }</td></tr>
                    <tr><td><kbd>{ "Enter" }</kbd></td><td>{ "on a focused card (Tab to it): select it for the inspector" }</td></tr>
                    <tr><td><kbd>{ "k" }</kbd>{ " " }<kbd>{ "r" }</kbd>{ " " }<kbd>{ "i" }</kbd></td><td>{ "kill, restart, isolate what is selected (a consumer: k crashes it)" }</td></tr>
                    <tr><td><kbd>{ "Tab" }</kbd>{ " " }<kbd>{ "↑" }</kbd>{ " " }<kbd>{ "↓" }</kbd></td><td>{ "in the terminal: complete, walk the history" }</td></tr>
                    <tr><td><kbd>{ "Ctrl-C" }</kbd>{ " " }<kbd>{ "Ctrl-D" }</kbd></td><td>{ "in the terminal: stop a console consumer, end console producer input" }</td></tr>
                </table>
                <h2>{ "Reading the page" }</h2>
                <ul>
                    <li>{ "Filled replica: the partition's leader. Outlined: an in-sync follower. Dashed red: out of sync. Grey: offline or on a dead broker." }</li>
                    <li>{ "Click (or tap) a broker, a replica, a ZooKeeper server or a client to inspect it; its faults are buttons in the inspector." }</li>
                    <li>{ "Dots are network messages, coloured by kind, travelling in lanes between the cards; × marks one that was lost (link cut or receiver down). Paused, click a dot to inspect it." }</li>
                    <li>{ "A dashed red lane is a cut link (an arrow: only that direction is cut); a dotted amber lane with a clock is a slow link; a greyed consumer with a clock is paused." }</li>
                    <li>{ "Partition strips: one cell per offset, coloured by key. Consumers only read below the high watermark (HW)." }</li>
                    <li>{ "Everything you do is recorded: Share copies a link that replays it. Drag the timeline to go back; acting in the past drops what you did after that moment." }</li>
                    <li>{ "The Terminal tab runs Kafka's own tools (kafka-topics.sh, kafka-consumer-groups.sh, kafka-configs.sh, zookeeper-shell.sh, …) against this cluster; type help for the list." }</li>
                </ul>
                <button class="primary" onclick={close}>{ "Close" }</button>
            </div>
        </div>
    }
}
