#include "tests/chaos/workload.h"

#include <random>
#include <sstream>

namespace chaos {

Workload::Workload(ChaosCluster& cluster, Clock::time_point origin, WorkloadOptions opts)
    : cluster_(cluster), origin_(origin), opts_(std::move(opts)), ctx_(1) {}

Workload::~Workload() { stop(); }

uint64_t Workload::now_ns() const {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - origin_).count());
}

void Workload::start() {
  for (int i = 0; i < opts_.clients; ++i) threads_.emplace_back([this, i] { run_client(i); });
}

void Workload::stop() {
  stop_ = true;
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
}

std::vector<Record> Workload::records() const {
  std::lock_guard<std::mutex> lock(mu_);
  return records_;
}

void Workload::add(Record r) {
  std::lock_guard<std::mutex> lock(mu_);
  records_.push_back(std::move(r));
}

void Workload::run_client(int index) {
  std::mt19937_64 rng(opts_.seed * 1000003 + static_cast<uint64_t>(index));
  client::Client c(ctx_, cluster_.client_options(opts_.op_timeout));
  const uint64_t client_no = static_cast<uint64_t>(index) + 1;
  uint64_t n = 0;
  // What this client last saw in each key (for plausible cas expectations).
  std::map<std::string, std::optional<std::string>> seen;
  std::vector<Record> mine;
  while (!stop_) {
    Record r;
    auto& op = r.op;
    op.client = client_no;
    op.key = opts_.keys[rng() % opts_.keys.size()];
    const unsigned dice = static_cast<unsigned>(rng() % 100);
    op.kind = dice < 40 ? lincheck::OpKind::Put : dice < 75 ? lincheck::OpKind::Get : lincheck::OpKind::Cas;
    client::Result res;
    op.invoke_time = now_ns();
    if (op.kind == lincheck::OpKind::Put) {
      op.input = "c" + std::to_string(client_no) + "-" + std::to_string(++n);
      res = c.put(op.key, op.input);
    } else if (op.kind == lincheck::OpKind::Get) {
      res = c.get(op.key, false);
    } else {
      op.input = "c" + std::to_string(client_no) + "-" + std::to_string(++n);
      op.expected = seen[op.key];
      res = c.cas(op.key, op.expected.value_or(""), !op.expected.has_value(), op.input);
    }
    op.complete_time = now_ns();
    r.detail = client::to_string(res.outcome);
    if (!res.error.empty()) r.detail += " (" + res.error + ")";
    if (res.served_by != raft::kNone) r.detail += " by " + std::to_string(res.served_by);
    switch (res.outcome) {
      case client::Outcome::Ok:
        op.outcome = lincheck::Outcome::Ok;
        if (op.kind == lincheck::OpKind::Get) {
          op.output = res.value;
          seen[op.key] = res.value;
        } else {
          seen[op.key] = op.input;
        }
        break;
      case client::Outcome::NotFound:
        op.outcome = lincheck::Outcome::Ok;  // a get (or del) of a missing key
        seen[op.key] = std::nullopt;
        break;
      case client::Outcome::CasFailed:
        op.outcome = lincheck::Outcome::Fail;
        seen[op.key] = res.value_present ? std::optional<std::string>(res.value) : std::nullopt;
        break;
      case client::Outcome::Unknown:
        op.outcome = lincheck::Outcome::Unknown;
        break;
      case client::Outcome::Unavailable:
      case client::Outcome::Rejected:
        // A get that nobody answered constrains nothing; a write that was definitely not
        // applied neither.
        op.outcome = op.kind == lincheck::OpKind::Get ? lincheck::Outcome::Unknown : lincheck::Outcome::Fail;
        r.definite_failure = true;
        break;
    }
    mine.push_back(std::move(r));
    // Think time: keeps the history (and the checker's work) proportional to the run's
    // length rather than to the machine's speed, and leaves CPU to the nodes.
    std::this_thread::sleep_for(std::chrono::milliseconds(opts_.think_ms_min + static_cast<int>(rng() % static_cast<uint64_t>(opts_.think_ms_max - opts_.think_ms_min + 1))));
  }
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& r : mine) records_.push_back(std::move(r));
}

std::string format_record(const Record& r) {
  std::ostringstream s;
  s << lincheck::describe(r.op) << "  " << r.detail;
  return s.str();
}

}  // namespace chaos
