// CURVE on a real cluster (docs/security.md): with the keys, everything works; without them,
// neither a node nor a client gets anything in, and a plain ZeroMQ socket gets no reply.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <zmq.hpp>

#include <filesystem>
#include <thread>

#include "client/connection.h"
#include "tests/integration/cluster_harness.h"
#include "tests/integration/security/security_support.h"
#include "transport/client_codec.h"
#include "transport/codec.h"
#include "transport/curve_keys.h"

using namespace std::chrono_literals;
using harness::Cluster;
using harness::ClusterOptions;
using namespace security_test;

namespace {

// A secure cluster: the harness's file plus a security block, keys made by raftctl keygen.
std::string make_secure(Cluster& c) {
  append_security(c.config_path(), true, "keys");
  keygen(c.config_path());
  return c.dir() + "/keys";
}

// Sends a Status request on a fresh DEALER to `endpoint` and waits up to `wait` for a reply.
// With `curve`, the DEALER is a CURVE client with that key pair and server key.
bool status_replied(zmq::context_t& ctx, const std::string& endpoint, std::chrono::milliseconds wait,
                    const transport::CurveKeyPair* own = nullptr, const std::string& server_key = "") {
  zmq::socket_t s(ctx, zmq::socket_type::dealer);
  s.set(zmq::sockopt::linger, 0);
  if (own) transport::make_curve_client(s, *own, server_key);
  s.connect(endpoint);
  transport::ClientRequest req;
  req.request_id = 7;
  req.kind = transport::RequestKind::Status;
  (void)s.send(zmq::buffer(transport::encode_request(req)), zmq::send_flags::none);
  zmq::pollitem_t item{s.handle(), 0, ZMQ_POLLIN, 0};
  zmq::poll(&item, 1, wait);
  if (!(item.revents & ZMQ_POLLIN)) return false;
  zmq::message_t m;
  (void)s.recv(m, zmq::recv_flags::none);
  auto reply = transport::decode_reply(m.to_string_view());
  return std::holds_alternative<transport::ClientReply>(reply) &&
         std::get<transport::ClientReply>(reply).request_id == 7;
}

void require_no_secret(const std::string& text, const std::vector<std::string>& secrets) {
  for (const auto& s : secrets) {
    INFO("a secret key appears in: " << text.substr(0, 2000));
    REQUIRE(text.find(s) == std::string::npos);
  }
}

}  // namespace

TEST_CASE("a cluster with CURVE on elects a leader and serves put and get through raftctl with the client key",
          "[security]") {
  Cluster c("curve_cluster", 3, 29100);
  const std::string keys = make_secure(c);
  ProcessCurve curve(keys);
  c.start_all();
  REQUIRE(c.wait_for_leader(15s));

  auto put = c.raftctl({"put", "greeting", "hello-secure"});
  INFO(put.out);
  REQUIRE(put.exit_code == 0);
  auto get = c.raftctl({"get", "greeting"});
  REQUIRE(get.exit_code == 0);
  REQUIRE(get.out == "hello-secure\n");
  auto status = c.raftctl({"status"});
  REQUIRE(status.exit_code == 0);
  REQUIRE(status.out.find("leader") != std::string::npos);
  auto bench = c.raftctl({"bench", "--duration", "1", "--warmup", "0.2", "--clients", "2"});
  INFO(bench.out);
  REQUIRE(bench.exit_code == 0);
  // A named client key made later works too.
  keygen(c.config_path(), {"--client", "ops"});
  auto ops = c.raftctl({"--key", "ops", "get", "greeting"});
  REQUIRE(ops.exit_code == 0);

  // Secrets appear in no log and no output.
  const auto secrets = secrets_in(keys);
  REQUIRE(secrets.size() == 5);
  for (auto id : c.ids()) require_no_secret(c.log(id), secrets);
  auto printed = harness::run({RAFT_NODE_BIN, "--config", c.config_path(), "--print-config"});
  REQUIRE(printed.exit_code == 0);
  require_no_secret(printed.out + status.out + put.out + bench.out, secrets);

  // The client ROUTER is a CURVE server: a plain ZeroMQ client gets no reply at all (its
  // handshake fails), while the same request from a CURVE client with the right keys does.
  // This is the proof that client traffic cannot be read or sent in plaintext.
  auto own = transport::read_key_pair(keys, "client-client");
  auto server = transport::read_public_key(keys, "node-1");
  REQUIRE(std::holds_alternative<transport::CurveKeyPair>(own));
  REQUIRE(std::holds_alternative<std::string>(server));
  REQUIRE_FALSE(status_replied(c.zmq_context(), c.client_address(1), 1500ms));
  REQUIRE(status_replied(c.zmq_context(), c.client_address(1), 5000ms, &std::get<transport::CurveKeyPair>(own),
                         std::get<std::string>(server)));
}

TEST_CASE("a node with other keys cannot join or disrupt a CURVE cluster and a plain peer frame changes nothing",
          "[security]") {
  ClusterOptions o;
  o.cluster_id = "sec2";
  Cluster c("curve_intruder", 3, 29200, o);
  const std::string keys = make_secure(c);
  ProcessCurve curve(keys);
  c.start(1);
  c.start(2);
  auto leader = c.wait_for_leader(15s);
  REQUIRE(leader);
  REQUIRE(c.raftctl({"put", "k", "v1"}).exit_code == 0);
  const auto before = c.statuses();
  REQUIRE(before.count(*leader));
  const uint64_t term = before.at(*leader).term;

  // Node 3's address, the same cluster file, but keys of its own (a second keygen elsewhere).
  const std::string idir = c.dir() + "/intruder";
  std::filesystem::create_directories(idir + "/data/node-3");
  copy_config(c.config_path(), idir + "/cluster.yaml", "keys", true, idir + "/data");
  keygen(idir + "/cluster.yaml");
  // Public keys are public: the intruder knows the members' (so its handshake gets as far as
  // the members' authenticator, which must refuse its own key).
  for (const char* pub : {"/node-1.pub", "/node-2.pub"})
    std::filesystem::copy_file(keys + pub, idir + "/keys" + pub, std::filesystem::copy_options::overwrite_existing);
  const std::string intruder_log = idir + "/data/node-3/node.log";
  NodeProcess intruder(idir + "/cluster.yaml", 3, true, intruder_log);

  // Wait until the members have refused its handshakes (it campaigns and dials them).
  REQUIRE(harness::wait_until(
      [&] {
        return c.log(1).find("peer socket: refused a CURVE client") != std::string::npos ||
               c.log(2).find("peer socket: refused a CURVE client") != std::string::npos;
      },
      15s));

  // A plain DEALER that claims to be node 3 sends well-formed heartbeats of a much higher term
  // to the leader: accepted, they would depose it.
  {
    zmq::socket_t plain(c.zmq_context(), zmq::socket_type::dealer);
    plain.set(zmq::sockopt::linger, 0);
    plain.set(zmq::sockopt::routing_id, "3");
    plain.connect(c.raft_address(*leader));
    raft::Message m;
    m.msg_type = raft::MessageType::MsgHeartbeat;
    m.from = 3;
    m.to = *leader;
    m.term = term + 50;
    const std::string frame = transport::encode_message("sec2", m);
    for (int i = 0; i < 5; ++i) {
      (void)plain.send(zmq::buffer(frame), zmq::send_flags::dontwait);
      std::this_thread::sleep_for(100ms);
    }
  }

  // Observe for several election timeouts of the intruder: nothing moves.
  const bool disturbed = harness::wait_until(
      [&] {
        auto st = c.statuses();
        for (auto id : {uint64_t{1}, uint64_t{2}})
          if (!st.count(id) || st.at(id).term != term || st.at(id).leader != *leader) return true;
        return false;
      },
      10 * c.election_timeout());
  REQUIRE_FALSE(disturbed);
  // The intruder heard from nobody: no leader, nothing committed beyond its own bootstrap.
  auto seen = harness::run({RAFTCTL_BIN, "--config", idir + "/cluster.yaml", "--node", "3", "--json", "status"});
  INFO(seen.out);
  REQUIRE(seen.exit_code == 0);
  auto j = nlohmann::json::parse(seen.out);
  REQUIRE(j["nodes"][0]["leader"] == 0);
  REQUIRE(j["nodes"][0]["commit"].get<uint64_t>() <= 1);
  // The refusal names a fingerprint, never a secret.
  const auto secrets = secrets_in(idir + "/keys");
  require_no_secret(c.log(1) + c.log(2), secrets);
  REQUIRE(intruder.stop() == 0);

  // Positive control: node 3 with the cluster's keys joins and catches up.
  c.start(3);
  REQUIRE(harness::wait_until(
      [&] {
        auto r = c.raftctl({"--node", "3", "get", "--serializable", "k"}, "", 5s);
        return r.exit_code == 0 && r.out == "v1\n";
      },
      20s));
}

TEST_CASE("a client without the right keys can neither read nor write", "[security]") {
  ClusterOptions o;
  o.cluster_id = "sec3";
  Cluster c("curve_clients", 3, 29300, o);
  const std::string keys = make_secure(c);
  ProcessCurve curve(keys);
  c.start_all();
  REQUIRE(c.wait_for_leader(15s));
  REQUIRE(c.raftctl({"put", "k", "v1"}).exit_code == 0);

  // Right server keys, but a client key the nodes do not know.
  const std::string rogue = c.dir() + "/rogue";
  std::filesystem::create_directories(rogue);
  copy_config(c.config_path(), rogue + "/cluster.yaml", "keys", true, c.dir() + "/data");
  keygen(rogue + "/cluster.yaml");
  for (auto id : c.ids()) {
    const std::string name = "/node-" + std::to_string(id) + ".pub";
    std::filesystem::copy_file(keys + name, rogue + "/keys" + name, std::filesystem::copy_options::overwrite_existing);
  }
  auto put = harness::run({RAFTCTL_BIN, "--config", rogue + "/cluster.yaml", "--timeout", "2", "put", "k", "evil"});
  INFO(put.out);
  REQUIRE(put.exit_code == 3);
  REQUIRE(put.out.find("CURVE on") != std::string::npos);
  auto get = harness::run({RAFTCTL_BIN, "--config", rogue + "/cluster.yaml", "--timeout", "2", "get", "k"});
  REQUIRE(get.exit_code == 3);
  REQUIRE(get.out.find("v1") == std::string::npos);

  // No CURVE at all.
  copy_config(c.config_path(), c.dir() + "/plain.yaml", "keys", false, c.dir() + "/data");
  auto plain = harness::run({RAFTCTL_BIN, "--config", c.dir() + "/plain.yaml", "--timeout", "2", "put", "k", "evil"});
  REQUIRE(plain.exit_code == 3);

  // No such client key: a clear error at once, exit 3 like any failure to reach the cluster.
  auto missing = c.raftctl({"--key", "nobody", "get", "k"});
  REQUIRE(missing.exit_code == 3);
  REQUIRE(missing.out.find("client-nobody.key: no such key file") != std::string::npos);

  // The nodes logged the refusals with a fingerprint of the rogue key.
  auto rogue_pub = transport::read_public_key(rogue + "/keys", "client-client");
  REQUIRE(std::holds_alternative<std::string>(rogue_pub));
  const std::string fp = transport::fingerprint(std::get<std::string>(rogue_pub));
  REQUIRE(harness::wait_until(
      [&] {
        for (auto id : c.ids())
          if (c.log(id).find("client socket: refused a CURVE client") != std::string::npos &&
              c.log(id).find(fp) != std::string::npos)
            return true;
        return false;
      },
      5s));
  for (auto id : c.ids()) require_no_secret(c.log(id), secrets_in(rogue + "/keys"));

  // Nothing was written: the right key still reads v1, linearizably.
  auto check = c.raftctl({"get", "k"});
  REQUIRE(check.exit_code == 0);
  REQUIRE(check.out == "v1\n");
}

namespace {

// A cluster file listing `ids` of `c`'s port range, with CURVE on and keys in <dir>/keys.
std::string secure_file(const Cluster& c, const std::string& path, const std::vector<uint64_t>& ids,
                        const std::string& cluster_id) {
  std::string text = "cluster_id: " + cluster_id + "\ndata_dir: data\ntick_ms: 20\nelection_ticks: 10\n"
                     "heartbeat_ticks: 2\nnodes:\n";
  for (auto id : ids)
    text += "  - id: " + std::to_string(id) + "\n    raft: " + c.raft_address(id) + "\n    client: " +
            c.client_address(id) + "\n";
  text += "security:\n  curve: true\n  keys_dir: keys\n";
  write_file(path, text);
  return path;
}

}  // namespace

TEST_CASE("a member added by push-config with a key made later joins a running CURVE cluster", "[security]") {
  ClusterOptions o;
  o.cluster_id = "sec4";
  Cluster c("curve_grow", 4, 29320, o);  // ports 29321..29324 and 29371..29374
  secure_file(c, c.config_path(), {1, 2, 3}, "sec4");
  keygen(c.config_path());
  for (uint64_t id = 1; id <= 3; ++id) c.start(id, true);
  {
    ProcessCurve curve(c.dir() + "/keys");
    REQUIRE(c.wait_for_leader(15s));
  }
  REQUIRE(c.raftctl({"put", "before", "1"}).exit_code == 0);

  // Node 4's key is made while 1..3 run: their authenticators must pick it up from keys_dir.
  const std::string four = secure_file(c, c.dir() + "/four.yaml", {1, 2, 3, 4}, "sec4");
  keygen(four);
  secure_file(c, c.config_path(), {1, 2, 3, 4}, "sec4");  // the harness starts node 4 from its file
  c.start(4, false);
  auto push = c.raftctl({"--timeout", "40", "push-config", four}, "", 60s);
  INFO(push.out);
  REQUIRE(push.exit_code == 0);
  REQUIRE(harness::wait_until(
      [&] {
        auto r = c.raftctl({"--node", "4", "get", "--serializable", "before"}, "", 5s);
        return r.exit_code == 0 && r.out == "1\n";
      },
      20s));
  auto st = c.raftctl({"status"});
  INFO(st.out);
  REQUIRE(st.out.find("voters (1 2 3 4)") != std::string::npos);
}
