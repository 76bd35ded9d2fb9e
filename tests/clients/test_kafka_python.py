"""kafka-python against `kplay serve`: a real client library, unchanged, on the simulated cluster.

Run by `make clients-test` (part of `make test`) with the kafka-python the Makefile installs
into .venv. Starts its own `kplay serve` and types fault commands into its stdin.
"""

import os
import subprocess
import sys
import threading
import time
import unittest

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import KafkaAdminClient, NewTopic

KPLAY = os.environ.get("KPLAY", "target/debug/kplay")
PORT = int(os.environ.get("KPLAY_PORT", "29092"))
BOOTSTRAP = f"127.0.0.1:{PORT}"
# Brokers notice a dead broker when its ZooKeeper session expires: 6 s here instead of 18
# (cluster.json); KPLAY_SCENARIO=cluster-kraft.json runs the same tests in KRaft mode, where
# the active controller fences it 4.5 s after its last heartbeat instead of 9.
SCENARIO = os.path.join(
    os.path.dirname(__file__), os.environ.get("KPLAY_SCENARIO", "cluster.json")
)


class Server:
    def __init__(self):
        self.proc = subprocess.Popen(
            [KPLAY, "serve", SCENARIO, "--listen", BOOTSTRAP],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.log = []
        threading.Thread(target=self._drain, args=(self.proc.stderr,), daemon=True).start()
        threading.Thread(target=self._drain, args=(self.proc.stdout,), daemon=True).start()
        deadline = time.time() + 30
        while not any("kplay serve:" in line for line in self.log):
            if time.time() > deadline or self.proc.poll() is not None:
                raise RuntimeError("kplay serve did not start:\n" + "".join(self.log))
            time.sleep(0.05)

    def _drain(self, stream):
        for line in stream:
            self.log.append(line)

    def command(self, line):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def stop(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=10)


class KafkaPythonTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def test_topics_keyed_records_groups_offsets_and_a_leader_failure(self):
        admin = KafkaAdminClient(bootstrap_servers=BOOTSTRAP, request_timeout_ms=20000)
        result = admin.create_topics([NewTopic("orders", 6, 3)])
        self.assertEqual(result["topics"][0]["error_code"], 0)
        # kplay answers CreateTopics once ZooKeeper holds the topic, before the controller's
        # UpdateMetadata reaches every broker (Kafka waits for its own broker's cache): a
        # describe sent to another broker at once may not see it yet. Poll, as clients do.
        deadline = time.time() + 10
        while True:
            described = admin.describe_topics(["orders"])[0]
            if len(described["partitions"]) == 6 or time.time() > deadline:
                break
            time.sleep(0.1)
        self.assertEqual(len(described["partitions"]), 6)
        for p in described["partitions"]:
            self.assertEqual(sorted(p["replica_nodes"]), [1, 2, 3])
            self.assertEqual(sorted(p["isr_nodes"]), [1, 2, 3])

        # 1,000 keyed records with acks=all; the leader of orders-0 dies half-way through.
        producer = KafkaProducer(
            bootstrap_servers=BOOTSTRAP, acks="all", retries=1000, linger_ms=5,
            request_timeout_ms=10000, delivery_timeout_ms=120000,
        )
        leader = described["partitions"][0]["leader_id"]
        acked = []
        for i in range(1000):
            if i == 500:
                for f in acked:
                    f.get(timeout=60)
                self.server.command(f"kill broker {leader}")
            key = f"customer-{i % 37}".encode()
            acked.append(producer.send("orders", key=key, value=str(i).encode()))
        producer.flush(timeout=120)
        metadata = [f.get(timeout=120) for f in acked]
        self.assertEqual(len(metadata), 1000)

        # The partition moved to a live replica, and the clients found it by themselves.
        self.server.command(f"restart broker {leader}")
        after = admin.describe_topics(["orders"])[0]["partitions"][0]
        self.assertNotEqual(after["leader_id"], leader)

        # A group of two consumers reads every acked record, in order per partition.
        seen = {}
        lock = threading.Lock()

        def consume(name):
            consumer = KafkaConsumer(
                "orders", bootstrap_servers=BOOTSTRAP, group_id="billing", client_id=name,
                auto_offset_reset="earliest", enable_auto_commit=False,
                consumer_timeout_ms=20000, session_timeout_ms=10000,
                heartbeat_interval_ms=1000,
            )
            for m in consumer:
                with lock:
                    seen.setdefault(m.partition, []).append((m.offset, m.key, int(m.value)))
                    done = sum(len(v) for v in seen.values()) >= 1000
                consumer.commit()
                if done:
                    break
            consumer.commit()
            consumer.close()

        threads = [threading.Thread(target=consume, args=(f"c{i}",)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=180)
        values = sorted(v for records in seen.values() for (_, _, v) in records)
        self.assertEqual(sorted(set(values)), list(range(1000)), "every acked record arrives")
        for partition, records in seen.items():
            offsets = [o for (o, _, _) in records]
            self.assertEqual(offsets, sorted(offsets), f"orders-{partition} in offset order")
            by_key = {}
            for (_, key, value) in records:
                by_key.setdefault(key, []).append(value)
            for key, vs in by_key.items():
                self.assertEqual(vs, sorted(vs), f"{key} in the order produced")

        # Committed offsets survive a restart of the group's consumers.
        consumer = KafkaConsumer(
            bootstrap_servers=BOOTSTRAP, group_id="billing", enable_auto_commit=False,
        )
        parts = [TopicPartition("orders", p) for p in range(6)]
        committed = {tp.partition: consumer.committed(tp) for tp in parts}
        end = consumer.end_offsets(parts)
        self.assertEqual(sum(committed.values()), 1000)
        for tp in parts:
            self.assertEqual(committed[tp.partition], end[tp])
        consumer.close()
        producer.send("orders", key=b"late", value=b"1000").get(timeout=60)
        producer.close()
        consumer = KafkaConsumer(
            "orders", bootstrap_servers=BOOTSTRAP, group_id="billing",
            auto_offset_reset="earliest", consumer_timeout_ms=15000,
        )
        late = [int(m.value) for m in consumer]
        consumer.close()
        self.assertEqual(late, [1000], "a restarted group resumes from its committed offsets")
        admin.close()

    def test_transactions_commit_and_abort_as_read_committed_consumers_see_them(self):
        admin = KafkaAdminClient(bootstrap_servers=BOOTSTRAP, request_timeout_ms=20000)
        admin.create_topics([NewTopic("ledger", 3, 3)])
        admin.close()
        producer = KafkaProducer(bootstrap_servers=BOOTSTRAP, transactional_id="ledger-writer")
        producer.init_transactions()
        producer.begin_transaction()
        for i in range(10):
            producer.send("ledger", key=f"k{i}".encode(), value=f"committed-{i}".encode())
        producer.commit_transaction()
        producer.begin_transaction()
        for i in range(5):
            producer.send("ledger", key=f"k{i}".encode(), value=f"aborted-{i}".encode())
        producer.flush()  # written to the log, then aborted
        producer.abort_transaction()
        producer.close()

        def read(isolation):
            consumer = KafkaConsumer(
                "ledger", bootstrap_servers=BOOTSTRAP, isolation_level=isolation,
                auto_offset_reset="earliest", consumer_timeout_ms=8000,
            )
            values = sorted(m.value.decode() for m in consumer)
            consumer.close()
            return values

        committed = sorted(f"committed-{i}" for i in range(10))
        self.assertEqual(read("read_committed"), committed)
        self.assertEqual(read("read_uncommitted"), sorted(committed + [f"aborted-{i}" for i in range(5)]))


if __name__ == "__main__":
    unittest.main(verbosity=2)
