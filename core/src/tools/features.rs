//! `kafka-features.sh --bootstrap-server … describe` (KRaft): the feature levels a broker
//! supports and the ones the cluster finalized, in Kafka's format (`FeatureCommand`).

use super::args::{self, Opt};
use super::Output;
use crate::kraft::features::{level_text, SUPPORTED};
use crate::sim::Sim;

const OPTS: &[Opt] = &[
    Opt::with_arg("bootstrap-server", "BOOTSTRAP_SERVER", "A comma-separated list of host:port pairs to use for establishing the connection to the Kafka cluster."),
    Opt::with_arg("bootstrap-controller", "BOOTSTRAP_CONTROLLER", "A comma-separated list of host:port pairs to use for establishing the connection to the KRaft controllers."),
    Opt::flag("help", "show this help message and exit"),
];

const USAGE: &str = "usage: kafka-features [-h] (--bootstrap-server BOOTSTRAP_SERVER | --bootstrap-controller BOOTSTRAP_CONTROLLER) {describe,upgrade,downgrade,disable,version-mapping,feature-dependencies} ...";

fn failed(message: &str) -> Output {
    Output::error(format!("{USAGE}\nkafka-features: error: {message}\n"))
}

pub fn run(sim: &Sim, argv: &[String]) -> Output {
    let o = match args::parse(OPTS, argv) {
        Ok(o) => o,
        Err(e) => return failed(&e),
    };
    if o.has("help") || argv.is_empty() {
        return Output::out(args::help(
            &format!("{USAGE}\n\nThis tool manages feature flags in Kafka.\n\n"),
            OPTS,
        ));
    }
    if o.has("bootstrap-server") == o.has("bootstrap-controller") {
        return failed(
            "exactly one of the arguments --bootstrap-server --bootstrap-controller is required",
        );
    }
    match o.positional.first().map(String::as_str) {
        Some("describe") => {}
        Some(
            command @ ("upgrade" | "downgrade" | "disable" | "version-mapping"
            | "feature-dependencies"),
        ) => {
            return Output::error(format!(
                "kplay: kafka-features.sh {command} is not built; describe is\n"
            ))
        }
        Some(other) => {
            return failed(&format!(
                "argument command: invalid choice: '{other}' (choose from 'describe', 'upgrade', 'downgrade', 'disable', 'version-mapping', 'feature-dependencies')"
            ))
        }
        None => return failed("too few arguments"),
    }
    if !sim.scenario().cluster.mode.is_kraft() {
        return Output::error(
            "kplay: this cluster runs in ZooKeeper mode (Kafka 3.9), which has no metadata.version or KRaft feature levels; kafka-features.sh describes KRaft clusters\n",
        );
    }
    // The broker answers from its own image: the epoch is the offset it has applied.
    let Some(image) = sim
        .brokers()
        .find_map(|b| b.kraft.as_ref().map(|k| &k.image))
    else {
        return Output::error(
            "org.apache.kafka.common.errors.TimeoutException: Timed out waiting for a node assignment. Call: describeFeatures\n",
        );
    };
    let epoch = image.offset.map_or("-".to_string(), |o| o.to_string());
    let mut out = String::new();
    for &(feature, min, max) in SUPPORTED {
        let finalized = image.features.get(feature).copied().unwrap_or(0);
        out.push_str(&format!(
            "Feature: {feature}\tSupportedMinVersion: {}\tSupportedMaxVersion: {}\tFinalizedVersionLevel: {}\tEpoch: {epoch}\n",
            level_text(feature, min),
            level_text(feature, max),
            level_text(feature, finalized),
        ));
    }
    Output::out(out)
}
