//! Where the cluster diagram puts things, and the lanes messages travel in.
//!
//! The diagram is laid out at the pixel width it is shown at (one SVG unit is one CSS pixel),
//! so its text is drawn at its real size at every width. Two arrangements:
//!
//! The control plane on top is the ZooKeeper ensemble in ZooKeeper mode and the controller
//! quorum in KRaft mode: both are drawn in the same places and lanes.
//!
//! - **row** (desktop and projector): ZooKeeper on top, brokers side by side under it,
//!   producers in a column on the left, consumer groups on the right;
//! - **stack** (phone width, or too many brokers for a row): ZooKeeper, then the producers,
//!   then the brokers one under another, then the consumer groups.
//!
//! Cards never overlap, and the space between them is kept free for lanes: a message runs
//! from one card's edge to the other's along a route of straight segments through that free
//! space, never across a card. Each pair of brokers has one lane (both directions share it),
//! each client and each ZooKeeper server has its own.

use kplay_core::vec_map::VecMap;
use kplay_core::view::{BrokerView, View};
use kplay_core::NodeId;

/// A message's way from one card's edge to another's: straight segments between these points.
pub type Route = Vec<(f64, f64)>;

/// The gap between two parallel lanes.
const LANE: f64 = 6.0;
/// A replica chip's row height: one line (stacked brokers), or two (a row of brokers has the
/// height for the log end offset and high watermark under each replica's name).
const CHIP_H: f64 = 22.0;
const CHIP_H_TWO_LINES: f64 = 36.0;
/// Where a broker card's first chip starts, under its name and status lines.
pub const CHIPS_TOP: f64 = 48.0;
/// Below this width the diagram stacks its brokers.
const STACK_BELOW_PX: f64 = 640.0;
/// A broker card narrower than this stacks the brokers even on a wide screen.
const MIN_CARD_W: f64 = 150.0;

/// A KRaft controller card's height (four lines).
const CONTROLLER_H: f64 = 74.0;
const CONTROLLER_H_NARROW: f64 = 88.0;
/// A controller card narrower than this (a phone) shows its id alone and its log on two lines.
pub const NARROW_CONTROLLER_W: f64 = 140.0;

/// A box on the diagram.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Place {
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
}

impl Place {
    pub fn centre(&self) -> (f64, f64) {
        (self.x + self.w / 2.0, self.y + self.h / 2.0)
    }
    fn right(&self) -> f64 {
        self.x + self.w
    }
    fn bottom(&self) -> f64 {
        self.y + self.h
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arrangement {
    Row,
    Stack,
}

/// A consumer group's frame: its name and its box.
pub type Frame = (String, Place);

/// The whole drawing: every drawn node's box, the group frames, and the lanes' geometry.
#[derive(Clone, Debug)]
pub struct Layout {
    pub width: f64,
    pub height: f64,
    pub arrangement: Arrangement,
    /// Text size multiplier (large text for projectors).
    pub scale: f64,
    pub places: VecMap<NodeId, Place>,
    pub frames: Vec<Frame>,
    /// Brokers in drawing order (their lanes are numbered by it).
    brokers: Vec<u32>,
    /// The control plane's nodes: ZooKeeper servers, or KRaft controllers.
    zookeepers: Vec<NodeId>,
    /// Clients drawn on the producers' side, and on the consumers' side, in order.
    left_clients: Vec<NodeId>,
    right_clients: Vec<NodeId>,
    /// Row: the free band between the ZooKeeper row and the brokers, and under the brokers.
    band_top: (f64, f64),
    band_bottom: f64,
    /// Stack: the free band under the ZooKeeper row.
    band_zk: f64,
    /// The left and right gutters' inner edges (lanes run outward from them in row mode,
    /// inward from the diagram's edges in stack mode).
    gutter_left: f64,
    gutter_right: f64,
    /// The band above the ZooKeeper row for ZooKeeper's own traffic.
    zk_peer_y: f64,
}

/// What the layout needs to know about each broker: how many replica rows and summary lines.
#[derive(Debug)]
pub struct BrokerRows {
    pub chips: usize,
    pub summary_lines: usize,
}

/// Rough width of `chars` characters of text at `px` (for fitting labels).
pub fn text_w(chars: usize, px: f64) -> f64 {
    chars as f64 * px * 0.6
}

impl Layout {
    /// Lays out `view` at `width` px, at least `min_height` px tall. `shown` says which
    /// clients are drawn (clients that have done nothing yet are left out).
    pub fn new(
        view: &View,
        rows: &dyn Fn(&BrokerView) -> BrokerRows,
        shown_left: Vec<NodeId>,
        width: f64,
        min_height: f64,
        scale: f64,
    ) -> Layout {
        let width = width.max(300.0);
        let right_clients: Vec<NodeId> = view
            .consumers
            .iter()
            .map(|c| NodeId::Consumer(c.index))
            .collect();
        let mut layout = Layout {
            width,
            height: 0.0,
            arrangement: Arrangement::Row,
            scale,
            places: VecMap::new(),
            frames: Vec::new(),
            brokers: view.brokers.iter().map(|b| b.id.0).collect(),
            zookeepers: view
                .zookeepers
                .iter()
                .map(|z| NodeId::ZooKeeper(z.id))
                .chain(view.controllers.iter().map(|c| NodeId::Controller(c.id)))
                .collect(),
            left_clients: shown_left,
            right_clients,
            band_top: (0.0, 0.0),
            band_bottom: 0.0,
            band_zk: 0.0,
            gutter_left: 0.0,
            gutter_right: 0.0,
            zk_peer_y: 0.0,
        };
        let n = layout.brokers.len().max(1) as f64;
        let side_w = (175.0 * scale).min(width * 0.19);
        let gutter_l = 14.0 + LANE * layout.left_clients.len() as f64;
        let gutter_r = 14.0 + LANE * layout.right_clients.len() as f64;
        let area = width - 2.0 * side_w - gutter_l - gutter_r;
        let card_w = (area - 14.0 * (n - 1.0)) / n;
        if width < STACK_BELOW_PX || card_w < MIN_CARD_W * scale {
            layout.arrangement = Arrangement::Stack;
            layout.stack(view, rows, min_height);
        } else {
            layout.row(
                view,
                rows,
                side_w,
                gutter_l,
                gutter_r,
                card_w.min(340.0 * scale),
                min_height,
            );
        }
        layout
    }

    fn pairs(&self) -> usize {
        let n = self.brokers.len();
        n * n.saturating_sub(1) / 2
    }

    /// A replica chip's height.
    pub fn chip_h(&self) -> f64 {
        self.scale
            * match self.arrangement {
                Arrangement::Row => CHIP_H_TWO_LINES,
                Arrangement::Stack => CHIP_H,
            }
    }

    fn broker_card_h(&self, r: &BrokerRows) -> f64 {
        let s = self.scale;
        let chip_h = self.chip_h();
        // Name and status lines, the chips, the summary lines, and room at the bottom edge so
        // a dot arriving there never touches a word.
        (CHIPS_TOP * s + r.chips as f64 * chip_h + r.summary_lines as f64 * 15.0 * s + 12.0)
            .max(70.0 * s)
    }

    /// The control plane's card height: a KRaft controller has four lines (name, Raft role,
    /// active or standby, its log), five on a narrow card (the log end offset and high
    /// watermark on lines of their own); a ZooKeeper server two.
    fn control_h(&self, zookeeper_h: f64, card_w: f64) -> f64 {
        if !matches!(self.zookeepers.first(), Some(NodeId::Controller(_))) {
            zookeeper_h * self.scale
        } else if card_w < NARROW_CONTROLLER_W * self.scale {
            CONTROLLER_H_NARROW * self.scale
        } else {
            CONTROLLER_H * self.scale
        }
    }

    /// The widest a control-plane card is drawn: a controller's log line needs more room.
    fn control_w(&self) -> f64 {
        if matches!(self.zookeepers.first(), Some(NodeId::Controller(_))) {
            160.0
        } else {
            130.0
        }
    }

    fn zk_peer_band(&self) -> f64 {
        let nz = self.zookeepers.len();
        8.0 + 4.0 * (nz * nz.saturating_sub(1) / 2) as f64
    }

    #[allow(clippy::too_many_arguments)]
    fn row(
        &mut self,
        view: &View,
        rows: &dyn Fn(&BrokerView) -> BrokerRows,
        side_w: f64,
        gutter_l: f64,
        gutter_r: f64,
        card_w: f64,
        min_height: f64,
    ) {
        let s = self.scale;
        let n = self.brokers.len().max(1) as f64;
        let total = card_w * n + 14.0 * (n - 1.0);
        let brokers_left = side_w
            + gutter_l
            + ((self.width - 2.0 * side_w - gutter_l - gutter_r - total) / 2.0).max(0.0);
        self.gutter_left = side_w;
        self.gutter_right = brokers_left + total;
        // ZooKeeper's traffic with itself runs in a band above its row.
        let peer = self.zk_peer_band();
        self.zk_peer_y = peer;
        // The control plane's cards spread over the brokers' span.
        let nz = self.zookeepers.len().max(1) as f64;
        let zk_w = (self.control_w() * s).min(total / nz - 12.0).max(80.0);
        let zk_h = self.control_h(54.0, zk_w);
        let zk_top = peer + 4.0;
        let top_lanes = 24.0 + LANE * (self.left_clients.len() + 1) as f64;
        let bottom_lanes = 20.0 + LANE * (self.pairs() + self.right_clients.len()) as f64;
        let heights: Vec<f64> = view
            .brokers
            .iter()
            .map(|b| self.broker_card_h(&rows(b)))
            .collect();
        let tallest = heights.iter().copied().fold(0.0, f64::max);
        // Grow the band under the brokers to fill the stage. The band between ZooKeeper and
        // the brokers keeps its natural height, so the two rows read as one drawing.
        let natural = zk_top + zk_h + top_lanes + tallest + bottom_lanes;
        let bottom_lanes = bottom_lanes + (min_height - natural).max(0.0);
        let zk_gap = total / nz;
        for (i, z) in self.zookeepers.clone().into_iter().enumerate() {
            let cx = brokers_left + zk_gap * (i as f64 + 0.5);
            self.places.insert(
                z,
                Place {
                    x: cx - zk_w / 2.0,
                    y: zk_top,
                    w: zk_w,
                    h: zk_h,
                },
            );
        }
        let brokers_top = zk_top + zk_h + top_lanes;
        self.band_top = (zk_top + zk_h, brokers_top);
        for (i, b) in self.brokers.clone().into_iter().enumerate() {
            self.places.insert(
                NodeId::Broker(kplay_core::BrokerId(b)),
                Place {
                    x: brokers_left + i as f64 * (card_w + 14.0),
                    y: brokers_top,
                    w: card_w,
                    h: tallest,
                },
            );
        }
        self.band_bottom = brokers_top + tallest;
        // Producers (and the admin client) down the left side.
        let client_h = 46.0 * s;
        let mut y = brokers_top;
        for id in self.left_clients.clone() {
            self.places.insert(
                id,
                Place {
                    x: 4.0,
                    y,
                    w: side_w - 8.0,
                    h: client_h,
                },
            );
            y += client_h + 10.0;
        }
        let left_bottom = y;
        let right_x = self.gutter_right + gutter_r;
        let y = self.consumer_frames(view, right_x, self.width - right_x - 4.0, brokers_top, 1);
        self.height = (self.band_bottom + bottom_lanes).max(left_bottom).max(y) + 8.0;
    }

    /// Consumer groups in frames from `top`, `cols` consumers a row, in `x..x + w`. Returns
    /// the bottom.
    fn consumer_frames(&mut self, view: &View, x: f64, w: f64, top: f64, cols: usize) -> f64 {
        let s = self.scale;
        let mut by_group: VecMap<Option<&str>, Vec<u32>> = VecMap::new();
        for c in &view.consumers {
            by_group
                .entry(c.group.as_deref())
                .or_default()
                .push(c.index);
        }
        let client_h = 46.0 * s;
        let mut y = top;
        let inner_w = (w - 12.0 - 8.0 * (cols as f64 - 1.0)) / cols as f64;
        for (group, members) in by_group {
            let frame_top = y;
            if group.is_some() {
                y += 38.0 * s;
            }
            for (i, index) in members.iter().enumerate() {
                let col = i % cols;
                if i > 0 && col == 0 {
                    y += client_h + 8.0;
                }
                self.places.insert(
                    NodeId::Consumer(*index),
                    Place {
                        x: x + 6.0 + col as f64 * (inner_w + 8.0),
                        y,
                        w: inner_w,
                        h: client_h,
                    },
                );
            }
            y += client_h + 6.0;
            if let Some(group) = group {
                self.frames.push((
                    group.to_string(),
                    Place {
                        x,
                        y: frame_top,
                        w,
                        h: y - frame_top,
                    },
                ));
            }
            y += 10.0;
        }
        y
    }

    fn stack(&mut self, view: &View, rows: &dyn Fn(&BrokerView) -> BrokerRows, min_height: f64) {
        let s = self.scale;
        let left_lanes = self.zookeepers.len() + self.left_clients.len();
        let right_lanes = self.pairs() + self.right_clients.len();
        let gl = 10.0 + LANE * left_lanes as f64;
        let gr = 10.0 + LANE * right_lanes as f64;
        self.gutter_left = gl;
        self.gutter_right = self.width - gr;
        let inner = self.gutter_right - gl;
        let peer = self.zk_peer_band();
        self.zk_peer_y = peer;
        let zk_top = peer + 4.0;
        let nz = self.zookeepers.len().max(1) as f64;
        let zk_w = ((inner - 8.0 * (nz - 1.0)) / nz).min(self.control_w() * s);
        let zk_h = self.control_h(50.0, zk_w);
        let zk_gap = inner / nz;
        for (i, z) in self.zookeepers.clone().into_iter().enumerate() {
            let cx = gl + zk_gap * (i as f64 + 0.5);
            self.places.insert(
                z,
                Place {
                    x: cx - zk_w / 2.0,
                    y: zk_top,
                    w: zk_w,
                    h: zk_h,
                },
            );
        }
        let mut y = zk_top + zk_h;
        self.band_zk = y;
        y += 10.0 + LANE * self.zookeepers.len() as f64;
        // Producers one under another: each leaves through its left edge into the gutter.
        let client_h = 46.0 * s;
        for id in self.left_clients.clone() {
            self.places.insert(
                id,
                Place {
                    x: gl,
                    y,
                    w: inner,
                    h: client_h,
                },
            );
            y += client_h + 8.0;
        }
        y += 6.0;
        let natural_rest: f64 = view
            .brokers
            .iter()
            .map(|b| self.broker_card_h(&rows(b)) + 12.0)
            .sum();
        let extra =
            ((min_height - y - natural_rest) / (view.brokers.len() + 1) as f64).clamp(0.0, 30.0);
        for b in &view.brokers {
            y += extra;
            let h = self.broker_card_h(&rows(b));
            self.places.insert(
                NodeId::Broker(b.id),
                Place {
                    x: gl,
                    y,
                    w: inner,
                    h,
                },
            );
            y += h + 12.0;
        }
        self.band_bottom = y;
        let cols = ((inner / (170.0 * s)).floor() as usize).clamp(1, 2);
        // Consumers leave through their right edge: one to a row keeps that edge free.
        let cols = if self.right_clients.len() > 1 {
            1.min(cols)
        } else {
            cols
        };
        let y = self.consumer_frames(view, gl, inner, y + 6.0, cols);
        self.height = y + 4.0;
    }

    fn index_of<T: PartialEq>(list: &[T], item: &T) -> Option<usize> {
        list.iter().position(|x| x == item)
    }

    /// The lane between brokers `a` and `b` (one for both directions).
    fn pair_lane(&self, a: u32, b: u32) -> Option<usize> {
        let (i, j) = (
            Self::index_of(&self.brokers, &a)?,
            Self::index_of(&self.brokers, &b)?,
        );
        let (i, j) = (i.min(j), i.max(j));
        let n = self.brokers.len();
        // Pairs numbered (0,1), (0,2), …, (1,2), …
        Some(i * n - i * (i + 1) / 2 + (j - i - 1))
    }

    /// The route a message from `from` to `to` takes: points from one card's edge to the
    /// other's, through free space only. None if either end is not drawn.
    pub fn route(&self, from: NodeId, to: NodeId) -> Option<Route> {
        // A broker's messages to itself (its own controller) never leave it.
        if from == to {
            return None;
        }
        let mut reversed = false;
        // Each lane is described once, from the "lower" end (ZooKeeper, then brokers, then
        // clients); the other direction walks it backwards.
        let (a, b) = match (from, to) {
            (NodeId::Broker(_), NodeId::ZooKeeper(_) | NodeId::Controller(_))
            | (NodeId::Admin, NodeId::Controller(_))
            | (NodeId::Producer(_) | NodeId::Admin | NodeId::Consumer(_), NodeId::Broker(_)) => {
                reversed = true;
                (to, from)
            }
            _ => (from, to),
        };
        let pa = *self.places.get(&a)?;
        let pb = *self.places.get(&b)?;
        let mut points = match (a, b) {
            (NodeId::ZooKeeper(_), NodeId::ZooKeeper(_))
            | (NodeId::Controller(_), NodeId::Controller(_)) => self.zk_peer_route(a, b, pa, pb)?,
            (NodeId::ZooKeeper(_) | NodeId::Controller(_), NodeId::Broker(br)) => {
                self.zk_route(a, br.0, pa, pb)?
            }
            (NodeId::Controller(_), NodeId::Admin) => self.control_admin_route(a, pa, pb)?,
            (NodeId::Broker(x), NodeId::Broker(y)) => self.pair_route(x.0, y.0, pa, pb)?,
            (NodeId::Broker(br), client) => {
                if let Some(i) = Self::index_of(&self.left_clients, &client) {
                    self.left_route(i, br.0, pa, pb)
                } else {
                    let i = Self::index_of(&self.right_clients, &client)?;
                    self.right_route(i, br.0, pa, pb)
                }
            }
            _ => vec![pa.centre(), pb.centre()],
        };
        if reversed {
            points.reverse();
        }
        Some(points)
    }

    fn zk_peer_route(&self, x: NodeId, y: NodeId, pa: Place, pb: Place) -> Option<Route> {
        let (i, j) = (
            Self::index_of(&self.zookeepers, &x)?,
            Self::index_of(&self.zookeepers, &y)?,
        );
        let (lo, hi) = (i.min(j), i.max(j));
        let n = self.zookeepers.len();
        let k = lo * n - lo * (lo + 1) / 2 + (hi - lo - 1);
        let lane_y = self.zk_peer_y - 4.0 - 4.0 * k as f64;
        let (ax, bx) = (
            pa.centre().0 + (j as f64 - 1.0) * 5.0,
            pb.centre().0 + (i as f64 - 1.0) * 5.0,
        );
        Some(vec![(ax, pa.y), (ax, lane_y), (bx, lane_y), (bx, pb.y)])
    }

    fn zk_route(&self, z: NodeId, broker: u32, pa: Place, pb: Place) -> Option<Route> {
        let i = Self::index_of(&self.zookeepers, &z)?;
        let bi = Self::index_of(&self.brokers, &broker)?;
        let nz = self.zookeepers.len() as f64;
        let nb = self.brokers.len() as f64;
        match self.arrangement {
            Arrangement::Row => {
                // Straight across the free band from the server's bottom to the broker's top.
                let from = (
                    pa.centre().0 + (bi as f64 - (nb - 1.0) / 2.0) * 8.0,
                    pa.bottom(),
                );
                let to = (
                    pb.x + pb.w * 0.55 + (i as f64 - (nz - 1.0) / 2.0) * 9.0,
                    pb.y,
                );
                Some(vec![from, to])
            }
            Arrangement::Stack => {
                let lane_y = self.band_zk + 6.0 + LANE * i as f64;
                let lane_x = self.gutter_left - 6.0 - LANE * i as f64;
                let edge_y = pb.y + 12.0 + 5.0 * i as f64;
                let x = pa.centre().0 + (bi as f64 - (nb - 1.0) / 2.0) * 6.0;
                Some(vec![
                    (x, pa.bottom()),
                    (x, lane_y),
                    (lane_x, lane_y),
                    (lane_x, edge_y),
                    (pb.x, edge_y),
                ])
            }
        }
    }

    fn pair_route(&self, x: u32, y: u32, pa: Place, pb: Place) -> Option<Route> {
        let k = self.pair_lane(x, y)?;
        let bx = Self::index_of(&self.brokers, &x)?;
        let by = Self::index_of(&self.brokers, &y)?;
        match self.arrangement {
            Arrangement::Row => {
                let lane_y = self.band_bottom + 10.0 + LANE * k as f64;
                // Leave from a spot on the bottom edge that depends on the peer, so lanes to
                // different peers leave apart.
                let ax = pa.x + pa.w * (0.3 + 0.4 * by as f64 / self.brokers.len().max(2) as f64);
                let bxx = pb.x + pb.w * (0.3 + 0.4 * bx as f64 / self.brokers.len().max(2) as f64);
                Some(vec![
                    (ax, pa.bottom()),
                    (ax, lane_y),
                    (bxx, lane_y),
                    (bxx, pb.bottom()),
                ])
            }
            Arrangement::Stack => {
                let lane_x = self.gutter_right + 6.0 + LANE * k as f64;
                let ay = pa.y + 14.0 + 5.0 * by as f64;
                let byy = pb.y + 14.0 + 5.0 * bx as f64;
                Some(vec![
                    (pa.right(), ay),
                    (lane_x, ay),
                    (lane_x, byy),
                    (pb.right(), byy),
                ])
            }
        }
    }

    /// A KRaft controller to the admin client (admin requests go to the active controller):
    /// down into the band under the control plane, then the admin client's own lane.
    fn control_admin_route(&self, c: NodeId, pa: Place, pc: Place) -> Option<Route> {
        let ci = Self::index_of(&self.zookeepers, &c)?;
        let i = Self::index_of(&self.left_clients, &NodeId::Admin)?;
        let x = pa.centre().0 - pa.w * 0.3;
        let cy = pc.y + pc.h * 0.3;
        match self.arrangement {
            Arrangement::Row => {
                let lane_y = self.band_top.1 - 8.0 - LANE * i as f64;
                let lane_x = self.gutter_left + 6.0 + LANE * i as f64;
                Some(vec![
                    (x, pa.bottom()),
                    (x, lane_y),
                    (lane_x, lane_y),
                    (lane_x, cy),
                    (pc.right(), cy),
                ])
            }
            Arrangement::Stack => {
                let lane_y = self.band_zk + 6.0 + LANE * ci as f64;
                let nz = self.zookeepers.len();
                let lane_x = self.gutter_left - 6.0 - LANE * (nz + i) as f64;
                Some(vec![
                    (x, pa.bottom()),
                    (x, lane_y),
                    (lane_x, lane_y),
                    (lane_x, cy),
                    (pc.x, cy),
                ])
            }
        }
    }

    /// Broker to a producer-side client.
    fn left_route(&self, i: usize, broker: u32, pa: Place, pc: Place) -> Route {
        let nb = self.brokers.len() as f64;
        let bi = Self::index_of(&self.brokers, &broker).unwrap_or(0) as f64;
        match self.arrangement {
            Arrangement::Row => {
                let lane_y = self.band_top.1 - 8.0 - LANE * i as f64;
                let lane_x = self.gutter_left + 6.0 + LANE * i as f64;
                let edge_x = pa.x + 10.0 + 5.0 * i as f64;
                let cy = pc.y + pc.h * 0.5 + (bi - (nb - 1.0) / 2.0) * 5.0;
                vec![
                    (edge_x, pa.y),
                    (edge_x, lane_y),
                    (lane_x, lane_y),
                    (lane_x, cy),
                    (pc.right(), cy),
                ]
            }
            Arrangement::Stack => {
                let nz = self.zookeepers.len();
                let lane_x = self.gutter_left - 6.0 - LANE * (nz + i) as f64;
                let edge_y = pa.y + pa.h - 12.0 - 5.0 * i as f64;
                let cy = pc.y + pc.h * 0.5 + (bi - (nb - 1.0) / 2.0) * 5.0;
                vec![(pa.x, edge_y), (lane_x, edge_y), (lane_x, cy), (pc.x, cy)]
            }
        }
    }

    /// Broker to a consumer-side client.
    fn right_route(&self, i: usize, broker: u32, pa: Place, pc: Place) -> Route {
        let nb = self.brokers.len() as f64;
        let bi = Self::index_of(&self.brokers, &broker).unwrap_or(0) as f64;
        let pairs = self.pairs();
        match self.arrangement {
            Arrangement::Row => {
                let lane_y = self.band_bottom + 16.0 + LANE * (pairs + i) as f64;
                let lane_x = self.gutter_right + 6.0 + LANE * i as f64;
                let edge_x = pa.right() - 10.0 - 5.0 * i as f64;
                let cy = pc.y + pc.h * 0.5 + (bi - (nb - 1.0) / 2.0) * 5.0;
                vec![
                    (edge_x, pa.bottom()),
                    (edge_x, lane_y),
                    (lane_x, lane_y),
                    (lane_x, cy),
                    (pc.x, cy),
                ]
            }
            Arrangement::Stack => {
                let lane_x = self.gutter_right + 6.0 + LANE * (pairs + i) as f64;
                let edge_y = pa.y + pa.h - 12.0 - 5.0 * i as f64;
                let cy = pc.y + pc.h * 0.5 + (bi - (nb - 1.0) / 2.0) * 5.0;
                vec![
                    (pa.right(), edge_y),
                    (lane_x, edge_y),
                    (lane_x, cy),
                    (pc.right(), cy),
                ]
            }
        }
    }
}

/// The point a fraction `t` (0 to 1) of the way along `route`, by length. Runs for every
/// dot every frame, so it allocates nothing.
pub fn point_along(route: &[(f64, f64)], t: f64) -> (f64, f64) {
    let len = |w: &[(f64, f64)]| ((w[1].0 - w[0].0).powi(2) + (w[1].1 - w[0].1).powi(2)).sqrt();
    let total: f64 = route.windows(2).map(len).sum();
    let mut left = total * t.clamp(0.0, 1.0);
    for w in route.windows(2) {
        let l = len(w);
        if left <= l && l > 0.0 {
            let f = left / l;
            return (
                w[0].0 + (w[1].0 - w[0].0) * f,
                w[0].1 + (w[1].1 - w[0].1) * f,
            );
        }
        left -= l;
    }
    route.last().copied().unwrap_or_default()
}

/// `route` as an SVG path.
pub fn path_d(route: &[(f64, f64)]) -> String {
    use std::fmt::Write;
    let mut d = String::new();
    for (i, (x, y)) in route.iter().enumerate() {
        let _ = write!(d, "{}{x:.1} {y:.1}", if i == 0 { "M" } else { "L" });
    }
    d
}
