#include "supervisor/slot_manager.hpp"

#include "common/log.hpp"

#include <algorithm>
#include <cmath>
#include <utility>
#include <csignal>
#include <cstdio>
#include <cstring>

#include <dirent.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

namespace chronus::supervisor {

using shm::WorkerState;

namespace {

constexpr auto kStartTimeout = std::chrono::seconds(5);
constexpr auto kSnapshotTimeout = std::chrono::seconds(2);
constexpr auto kJoinTimeout = std::chrono::seconds(3);
// A joining worker still rendering forward (catching up on a busy machine) is late, not wrong:
// it may take this long, as long as a block comes at least every kJoinStall.
constexpr auto kJoinLimit = std::chrono::seconds(10);
constexpr auto kJoinStall = std::chrono::seconds(1);
constexpr auto kVerifyTimeout = std::chrono::seconds(3);
// A worker that missed blocks and has published none since for this long is stuck.
constexpr auto kRecoverTimeout = std::chrono::seconds(1);
// One that publishes but has not caught up with the output after this long never will.
constexpr auto kCatchUpLimit = std::chrono::seconds(10);
// A worker whose cycle count stands still while ours advances this many cycles is hung if its
// process is stopped (SIGSTOP, a debugger) or gone. Any other worker gets half a second: one
// waiting for the CPU (runnable) or for JACK to run it (sleeping) is late, not hung; on a
// starved machine JACK left workers unrun for 8 of our cycles while running us, and they
// were replaced for it. A worker really stuck that long is replaced then (and its blocks are
// missing meanwhile, so the other slot plays from the first cycle).
constexpr std::uint64_t kHungCycles = 8;
constexpr double kLateSeconds = 0.5;
// Both live slots standing still at once is the machine (JACK ran neither worker, or neither
// got the CPU), not a worker: replacing them costs the CPU the machine lacks, and the new
// ones start on the same starved machine. Neither is replaced for it for this long (a
// stopped or dead process still is, at once); both stuck past it (both workers hung on the
// same command, as deterministic workers would) are replaced.
constexpr auto kBothLateLimit = std::chrono::seconds(3);

// The fields of /proc/<pid>/stat after "pid (name) " (the name may hold spaces and
// parentheses), starting with the state letter; empty if unreadable.
std::string statFields(pid_t pid)
{
    char path[64];
    std::snprintf(path, sizeof path, "/proc/%d/stat", int(pid));
    std::FILE *f = std::fopen(path, "r");
    if (!f)
        return {};
    char buf[1024];
    const std::size_t n = std::fread(buf, 1, sizeof buf - 1, f);
    std::fclose(f);
    buf[n] = '\0';
    const char *close = std::strrchr(buf, ')');
    return close && close[1] == ' ' ? std::string(close + 2) : std::string();
}

// The state letter of a process ('R' running or runnable, 'S' sleeping, 'T' stopped, ...),
// or 0 if unknown.
char processState(pid_t pid)
{
    const std::string fields = statFields(pid);
    return fields.empty() ? 0 : fields[0];
}

// What a process was doing, for telling why both workers stood still: whether any of its
// threads was runnable (waiting for the CPU) and the CPU time it has used.
ProcessSample sampleProcess(pid_t pid)
{
    ProcessSample out;
    if (pid <= 0)
        return out;
    // State is the first field here; utime and stime are fields 14 and 15 of the whole line.
    unsigned long long utime = 0, stime = 0;
    if (std::sscanf(statFields(pid).c_str(), "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime,
                    &stime) == 2) {
        out.known = true;
        out.cpuMs = double(utime + stime) * 1000.0 / double(::sysconf(_SC_CLK_TCK));
    }
    char path[64];
    std::snprintf(path, sizeof path, "/proc/%d/task", int(pid));
    if (DIR *dir = ::opendir(path)) {
        while (const dirent *e = ::readdir(dir)) {
            if (e->d_name[0] == '.')
                continue;
            const char state = processState(pid_t(std::atoi(e->d_name)));
            out.runnable = out.runnable || state == 'R';
        }
        ::closedir(dir);
    }
    return out;
}

double loadAverage()
{
    double load = -1;
    if (std::FILE *f = std::fopen("/proc/loadavg", "r")) {
        if (std::fscanf(f, "%lf", &load) != 1)
            load = -1;
        std::fclose(f);
    }
    return load;
}

const char *reasonName(RtEvent::Type t)
{
    switch (t) {
    case RtEvent::Type::Missing: return "missing block";
    case RtEvent::Type::NonFinite: return "NaN/Inf in block";
    case RtEvent::Type::Corrupt: return "block hash mismatch";
    case RtEvent::Type::Divergence: return "diverged from the active slot";
    case RtEvent::Type::SyncMismatch: return "did not match the active slot while verifying";
    default: return "failure";
    }
}

std::string lostText(shm::LostReason reason)
{
    switch (reason) {
    case shm::LostReason::CannotKeepUp: return "the worker could not catch up (no ground gained, or too far behind)";
    case shm::LostReason::CommitMissed: return "a commit went live before the worker had built its patch";
    case shm::LostReason::CommitFailed: return "the worker could not build a committed patch";
    case shm::LostReason::CommandLate: return "a command reached the worker after its frame was rendered";
    case shm::LostReason::None: break;
    }
    return "the worker stopped (out of lockstep)";
}

std::string describeExit(int status)
{
    if (WIFSIGNALED(status))
        return log::cat("killed by signal ", WTERMSIG(status), " (", strsignal(WTERMSIG(status)), ")");
    if (WIFEXITED(status))
        return log::cat("exited with status ", WEXITSTATUS(status));
    return "stopped";
}

double msSince(SlotManager::Clock::time_point t)
{
    return std::chrono::duration<double, std::milli>(SlotManager::Clock::now() - t).count();
}

} // namespace

SlotManager::SlotManager(OutputStage &output, shm::Segment &segment, Timeline &timeline, SlotManagerConfig config,
                         std::function<void(const std::string &, const std::string &)> notify)
    : output_(output), segment_(segment), timeline_(timeline), config_(std::move(config)), notify_(std::move(notify))
{
}

SlotManager::~SlotManager() { stopAll(); }

void SlotManager::start()
{
    for (std::uint32_t s = 0; s < shm::kSlots; ++s)
        spawn(s);
    respawns_ = 0;
}

void SlotManager::stopAll()
{
    for (std::uint32_t s = 0; s < shm::kSlots; ++s) {
        Slot &slot = slots_[s];
        // Stopped already (main stops the slots, then closes the output, then this runs
        // again from the destructor): the output may be gone.
        if (slot.state == SlotState::Dead && slot.pid <= 0)
            continue;
        enter(s, SlotState::Dead);
        if (slot.pid > 0) {
            ::kill(slot.pid, SIGKILL);
            int status = 0;
            ::waitpid(slot.pid, &status, 0);
            slot.pid = -1;
        }
    }
}

void SlotManager::enter(std::uint32_t slot, SlotState state)
{
    Slot &s = slots_[slot];
    if (state != s.state)
        log::debug("slot ", slot, ": ", name(s.state), " -> ", name(state));
    s.state = state;
    s.since = Clock::now();
    output_.setSlotState(slot, state);
    // Hang detection starts afresh in every state.
    s.lastHeartbeat = segment_.slot(slot).status->heartbeat.load(std::memory_order_relaxed);
    s.cyclesAtBeat = output_.counters().cycles.load(std::memory_order_relaxed);
    s.joinBlock = segment_.slot(slot).status->lastBlock.load(std::memory_order_relaxed);
    s.joinProgressAt = s.since;
}

void SlotManager::spawn(std::uint32_t s)
{
    Slot &slot = slots_[s];
    // No worker runs in this slot now: reset what the last one left behind.
    timeline_.detach(s);
    timeline_.resetRings(s);
    const shm::SlotView view = segment_.slot(s);
    shm::SlotStatus &st = *view.status;
    st.joinSeq.store(0, std::memory_order_relaxed);
    st.joinDone.store(0, std::memory_order_relaxed);
    st.snapshotRequest.store(0, std::memory_order_relaxed);
    st.snapshotServed.store(0, std::memory_order_relaxed);
    st.lastBlock.store(shm::kNoBlock, std::memory_order_relaxed);
    st.drainFrame.store(shm::kNoBlock, std::memory_order_relaxed);
    st.dspLoadPpm.store(0, std::memory_order_relaxed);
    st.faultInjection.store(0, std::memory_order_relaxed);
    st.workerState.store(WorkerState::Empty, std::memory_order_release);
    for (std::uint32_t b = 0; b < view.ringBlocks; ++b)
        reinterpret_cast<shm::BlockHeader *>(view.audio + b * view.blockStride)
            ->stamp.store(shm::kNoBlock, std::memory_order_release);
    slot.joinSeq = 0;
    slot.snapshotSeq = 0;
    slot.fresh = false;
    slot.missing = false;
    slot.lastHeartbeat = 0;
    slot.cyclesAtBeat = output_.counters().cycles.load(std::memory_order_relaxed);

    const std::string slotText = std::to_string(s);
    std::vector<std::string> args = {config_.workerPath, "--slot",        slotText,
                                     "--instance",        config_.instance,
                                     "--client-name",     config_.clientPrefix + "-worker-" + slotText};
    if (!config_.jackServer.empty()) {
        args.push_back("--jack-server");
        args.push_back(config_.jackServer);
    }
    std::vector<char *> argv;
    for (auto &a : args)
        argv.push_back(a.data());
    argv.push_back(nullptr);

    const pid_t pid = ::fork();
    if (pid == 0) {
        // Child: only async-signal-safe calls until exec. Do not leak our sockets.
        ::syscall(SYS_close_range, 3u, ~0u, 0u);
        ::execv(argv[0], argv.data());
        ::_exit(127);
    }
    if (pid < 0) {
        log::error("cannot fork a worker for slot ", s, ": ", std::strerror(errno));
        slot.respawnAt = Clock::now() + std::chrono::seconds(1);
        enter(s, SlotState::Dead);
        return;
    }
    slot.pid = pid;
    ++respawns_;
    enter(s, SlotState::Starting);
    log::info("slot ", s, ": started worker pid ", pid);
    notify_("worker_spawned", log::cat(s, " ", pid));
}

void SlotManager::fail(std::uint32_t s, const std::string &reason) { fail(s, reason, slots_[s].pid); }

void SlotManager::fail(std::uint32_t s, const std::string &reason, pid_t pid)
{
    Slot &slot = slots_[s];
    const SlotState was = slot.state;
    if (was == SlotState::Dead)
        return;
    enter(s, SlotState::Dead); // the audio thread stops reading it from its next cycle
    timeline_.detach(s);
    if (!slot.failing) {
        slot.failing = true;
        slot.failedAt = Clock::now();
    }
    slot.missing = false;
    if (was != SlotState::Verified)
        ++slot.quickFailures;
    else
        slot.quickFailures = 1;
    if (slot.pid > 0)
        ::kill(slot.pid, SIGKILL); // also ends a SIGSTOPped (hung) worker
    // A worker that keeps failing before it is verified is retried with back-off.
    const int q = slot.quickFailures;
    const auto delay = q <= 2 ? std::chrono::milliseconds(0)
                              : std::chrono::milliseconds(std::min(5000, 100 << std::min(q - 3, 6)));
    slot.respawnAt = Clock::now() + delay;
    log::warn("slot ", s, " (pid ", pid, "): ", reason, "; replacing it");
    notify_("worker_failed", log::cat(s, " ", pid, " ", reason));
}

void SlotManager::reap()
{
    int status = 0;
    pid_t pid;
    while ((pid = ::waitpid(-1, &status, WNOHANG)) > 0) {
        for (std::uint32_t s = 0; s < shm::kSlots; ++s) {
            Slot &slot = slots_[s];
            if (slot.pid != pid)
                continue;
            const std::string how = describeExit(status);
            slot.pid = -1; // reaped: never signal this pid again
            if (slot.state != SlotState::Dead)
                fail(s, "worker " + how, pid);
            log::info("slot ", s, ": worker pid ", pid, " ", how);
            notify_("worker_died", log::cat(s, " ", pid, " ", how));
        }
    }
}

void SlotManager::verified(std::uint32_t s, std::uint64_t blocks)
{
    Slot &slot = slots_[s];
    if (slot.state != SlotState::Verifying)
        return;
    enter(s, SlotState::Verified);
    slot.quickFailures = 0;
    slot.missing = false;
    hadTimeline_ = true;
    std::string restored;
    if (slot.failing) {
        lastRestoreMs_ = msSince(slot.failedAt);
        maxRestoreMs_ = std::max(maxRestoreMs_, lastRestoreMs_);
        slot.failing = false;
        restored = log::cat(" (redundancy restored ", static_cast<int>(lastRestoreMs_), " ms after the failure)");
    }
    log::info("slot ", int(s), ": verified bit-identical after ", blocks, " blocks", restored);
    notify_("worker_synced", log::cat(int(s), " ", slot.pid, " ", lastRestoreMs_));
}

void SlotManager::declare(const RtEvent &e)
{
    // In the journal, so a comparison of a recording with its render knows where the output
    // is not the render's: silence, a block never played, a block perhaps played a cycle
    // early.
    const std::uint32_t period = segment_.geometry().periodFrames;
    switch (e.type) {
    case RtEvent::Type::GapEnd:
        log::warn("output plays again at frame ", e.frame, " after ", e.value, " frames of silence");
        timeline_.journalNote(
            log::cat("gap: frames ", e.frame - e.value, " +", e.value, " (no slot had a usable block)"));
        break;
    case RtEvent::Type::Misplayed:
        log::warn("JACK's clock was read a cycle ahead: the block at frame ", e.frame, " was not played");
        timeline_.journalNote(
            log::cat("not played: frames ", e.frame, " +", period, " (JACK's clock read a cycle ahead)"));
        break;
    case RtEvent::Type::Jumped:
        // If this callback ran late and read the next cycle's time, the block went out one
        // cycle early, where a recording has it.
        timeline_.journalNote(log::cat("uncertain: frames ", e.frame, " +", period,
                                       " (JACK's clock jumped: it may have gone out a cycle early)"));
        break;
    default: break;
    }
}

void SlotManager::handleRtEvents()
{
    RtEvent e;
    while (output_.popEvent(e)) {
        switch (e.type) {
        case RtEvent::Type::Failover: {
            const std::string reason = reasonName(static_cast<RtEvent::Type>(e.value));
            log::warn("failover: slot ", int(e.slot), " -> slot ", int(e.other), " at frame ", e.frame, " (", reason,
                      ")");
            notify_("failover", log::cat(int(e.slot), " ", int(e.other), " ", e.frame, " ", reason));
            if (slots_[e.other].state == SlotState::Verifying) {
                // Double failure: the verifying slot is all we have; trust it from now on.
                enter(e.other, SlotState::Verified);
            }
            break;
        }
        case RtEvent::Type::Missing: {
            // Late, hung or dead: the audio thread already played the other slot. A late
            // worker catches up by itself; a hung one is found by checkHung(), a dead one
            // by reap().
            Slot &slot = slots_[e.slot];
            if (!slot.missing) {
                slot.missing = true;
                slot.missingAt = slot.missingSince = Clock::now();
                slot.lastBlockSeen = segment_.slot(e.slot).status->lastBlock.load(std::memory_order_acquire);
            }
            log::warn("slot ", int(e.slot), " (pid ", slot.pid, "): missing block at frame ", e.frame);
            break;
        }
        case RtEvent::Type::Recovered:
            slots_[e.slot].missing = false;
            log::info("slot ", int(e.slot), ": caught up and matches the active slot again");
            notify_("worker_recovered", log::cat(int(e.slot), " ", slots_[e.slot].pid));
            break;
        case RtEvent::Type::NonFinite:
        case RtEvent::Type::Corrupt:
        case RtEvent::Type::Divergence:
        case RtEvent::Type::SyncMismatch:
            fail(e.slot, log::cat(reasonName(e.type), " at frame ", e.frame));
            break;
        case RtEvent::Type::Verified:
            verified(e.slot, e.value);
            break;
        case RtEvent::Type::GapEnd:
        case RtEvent::Type::Misplayed:
        case RtEvent::Type::Jumped:
            declare(e);
            break;
        case RtEvent::Type::Gap:
            lastGapFrame_ = e.frame;
            log::error("no usable block from any slot at frame ", e.frame, ": output faded to silence");
            notify_("gap", log::cat(e.frame));
            break;
        }
    }
}

bool SlotManager::standsStill(std::uint32_t s) const
{
    const Slot &slot = slots_[s];
    if (!readsBlocks(slot.state))
        return false;
    const std::uint64_t cycles = output_.counters().cycles.load(std::memory_order_relaxed);
    const bool noCycle = segment_.slot(s).status->heartbeat.load(std::memory_order_relaxed) == slot.lastHeartbeat &&
                         cycles - slot.cyclesAtBeat >= kHungCycles;
    const bool noBlock = slot.missing && Clock::now() - slot.missingAt > std::chrono::milliseconds(100);
    return noCycle || noBlock;
}

void SlotManager::startBothLate()
{
    bothLateSince_ = Clock::now();
    ++bothLateEpisodes_;
    for (std::uint32_t s = 0; s < shm::kSlots; ++s)
        bothLateFrom_[s] = sampleProcess(slots_[s].pid);
    bothLateXruns_ = output_.counters().xruns.load(std::memory_order_relaxed);
    log::warn("both slots late: neither worker has run or published a block lately while the supervisor's "
              "audio thread runs (the machine is short of CPU, or JACK skips them); replacing neither for up "
              "to 3 s");
    notify_("both_late", "");
}

bool SlotManager::bothLate(std::uint32_t s)
{
    if (!standsStill(1 - s)) {
        if (!bothLateSince_)
            return false;
        endBothLate(); // the other came back just now: this one is judged from now on
        return true;
    }
    if (!bothLateSince_)
        startBothLate();
    return Clock::now() - *bothLateSince_ < kBothLateLimit;
}

void SlotManager::watchBothLate()
{
    const bool both = standsStill(0) && standsStill(1);
    if (!bothLateSince_ && both)
        startBothLate();
    else if (bothLateSince_ && !both)
        endBothLate();
}

void SlotManager::endBothLate()
{
    const Clock::time_point now = Clock::now();
    const double ms = std::chrono::duration<double, std::milli>(now - *bothLateSince_).count();
    bothLateMaxMs_ = std::max(bothLateMaxMs_, ms);
    bothLateSince_.reset();
    // Why: workers runnable and given little CPU meanwhile wanted the CPU (the machine is
    // short of it); asleep, they waited for JACK to run them (or were blocked).
    std::string detail;
    double cpuMs = 0;
    bool runnable = true, known = true;
    for (std::uint32_t s = 0; s < shm::kSlots; ++s) {
        const ProcessSample later = sampleProcess(slots_[s].pid);
        const ProcessSample &from = bothLateFrom_[s];
        known = known && from.known && later.known;
        runnable = runnable && from.runnable;
        const double used = std::max(0.0, later.cpuMs - from.cpuMs);
        cpuMs += used;
        detail += log::cat("; worker ", s, " was ", from.runnable ? "runnable" : "asleep", " and had ",
                           std::lround(used), " ms of CPU");
    }
    const std::uint64_t xruns = output_.counters().xruns.load(std::memory_order_relaxed) - bothLateXruns_;
    bothLateWhy_ = !known ? "unknown"
                   : runnable && cpuMs < 0.5 * ms ? "short of CPU"
                                                   : "asleep: JACK did not run them, or they were blocked";
    log::info("both slots run again after ", std::lround(ms), " ms (", bothLateWhy_, detail, "; load average ",
              loadAverage(), "; JACK reported ", xruns, " xruns meanwhile)");
    // The one not back yet was starved alongside the other: it is judged from now on, as if
    // just seen (the machine let the other run a moment before it, not a sign it is stuck).
    const std::uint64_t cycles = output_.counters().cycles.load(std::memory_order_relaxed);
    for (Slot &slot : slots_) {
        slot.cyclesAtBeat = cycles;
        slot.missingAt = now;
    }
}

void SlotManager::checkHung(std::uint32_t s)
{
    Slot &slot = slots_[s];
    const shm::SlotStatus &st = *segment_.slot(s).status;
    const std::uint64_t beat = st.heartbeat.load(std::memory_order_relaxed);
    const std::uint64_t cycles = output_.counters().cycles.load(std::memory_order_relaxed);
    const shm::Geometry &g = segment_.geometry();
    if (beat != slot.lastHeartbeat) {
        slot.lastHeartbeat = beat;
        slot.cyclesAtBeat = cycles;
    } else if (cycles - slot.cyclesAtBeat >= kHungCycles) {
        const std::uint64_t lateCycles = std::uint64_t(kLateSeconds * g.sampleRate / g.periodFrames);
        const char state = processState(slot.pid);
        const bool stopped = state == 'T' || state == 't' || state == 'Z' || state == 'X' || state == 0;
        if (stopped || (cycles - slot.cyclesAtBeat >= lateCycles && !bothLate(s))) {
            fail(s, log::cat("hung: no JACK cycle for ", cycles - slot.cyclesAtBeat, " periods"));
            return;
        }
    }
    if (!slot.missing)
        return;
    // Late, not dead: a worker that publishes blocks again and has caught up with the output
    // is kept (the audio thread trusts it again once it matches the other slot, or at once
    // when it is the only one playing); one that publishes nothing new is replaced.
    const std::uint64_t last = st.lastBlock.load(std::memory_order_acquire);
    const std::uint64_t cycle = output_.cycleFrame();
    if (last != shm::kNoBlock && cycle != shm::kNoBlock && last >= cycle && !output_.suspect(s)) {
        slot.missing = false;
        log::info("slot ", s, ": caught up");
        return;
    }
    if (Clock::now() - slot.missingSince > kCatchUpLimit) {
        fail(s, "fell behind and did not catch up within 10 s");
    } else if (last != slot.lastBlockSeen) {
        slot.lastBlockSeen = last;
        slot.missingAt = Clock::now();
    } else if (Clock::now() - slot.missingAt > kRecoverTimeout && !bothLate(s)) {
        fail(s, "fell behind and published no block for 1 s");
    }
}

void SlotManager::advance(std::uint32_t s)
{
    if (failIfBroken(s))
        return;
    switch (slots_[s].state) {
    case SlotState::Dead: advanceDead(s); break;
    case SlotState::Starting: advanceStarting(s); break;
    case SlotState::Snapshotting: advanceSnapshotting(s); break;
    case SlotState::Joining: advanceJoining(s); break;
    case SlotState::Verifying: advanceVerifying(s); break;
    case SlotState::Verified: break; // the audio thread decides from here on
    }
}

bool SlotManager::failIfBroken(std::uint32_t s)
{
    const Slot &slot = slots_[s];
    if (slot.state == SlotState::Dead)
        return false;
    const shm::SlotStatus &st = *segment_.slot(s).status;
    if (st.workerState.load(std::memory_order_acquire) == WorkerState::Lost) {
        fail(s, lostText(st.lostReason.load(std::memory_order_relaxed)));
        return true;
    }
    if (timeline_.prepareOverdue(s)) {
        fail(s, "worker did not build a committed patch within 2 s");
        return true;
    }
    if (timeline_.overflowed(s)) {
        fail(s, "command ring overflowed");
        return true;
    }
    if (readsBlocks(slot.state))
        checkHung(s);
    return slot.state == SlotState::Dead;
}

void SlotManager::advanceDead(std::uint32_t s)
{
    const Slot &slot = slots_[s];
    if (slot.pid < 0 && Clock::now() >= slot.respawnAt)
        spawn(s);
}

void SlotManager::advanceStarting(std::uint32_t s)
{
    if (Clock::now() - slots_[s].since > kStartTimeout)
        return fail(s, "worker did not start within 5 s");
    if (segment_.slot(s).status->workerState.load(std::memory_order_acquire) != WorkerState::Ready)
        return;
    const std::uint32_t other = 1 - s;
    const SlotState peer = slots_[other].state;
    if (output_.activeSlot() == static_cast<int>(other) && peer == SlotState::Verified)
        requestSnapshot(s, other);
    else if (peer == SlotState::Dead || peer == SlotState::Starting || peer == SlotState::Snapshotting)
        joinFresh(s);
    // Otherwise the other slot is joining or verifying, or verified but not playing (a gap):
    // wait until it plays or is gone.
}

void SlotManager::requestSnapshot(std::uint32_t s, std::uint32_t source)
{
    // The active worker copies its state at its next block boundary.
    Slot &slot = slots_[s];
    shm::SlotStatus &src = *segment_.slot(source).status;
    slot.snapshotSeq = src.snapshotRequest.load(std::memory_order_relaxed) + 1;
    slot.snapshotSource = source;
    src.snapshotRequest.store(slot.snapshotSeq, std::memory_order_release);
    enter(s, SlotState::Snapshotting);
}

void SlotManager::joinFresh(std::uint32_t s)
{
    // Nobody on the timeline: start from an empty engine (identical everywhere).
    Slot &slot = slots_[s];
    shm::SlotStatus &st = *segment_.slot(s).status;
    timeline_.attach(s);
    st.joinKind = shm::JoinKind::Fresh;
    slot.fresh = true;
    st.joinSeq.store(++slot.joinSeq, std::memory_order_release);
    enter(s, SlotState::Joining);
}

void SlotManager::advanceSnapshotting(std::uint32_t s)
{
    const Slot &slot = slots_[s];
    if (slots_[slot.snapshotSource].state != SlotState::Verified)
        return enter(s, SlotState::Starting); // source lost: try again with whoever is active
    if (Clock::now() - slot.since > kSnapshotTimeout)
        return fail(s, "the active worker did not provide a snapshot within 2 s");
    const shm::SlotStatus &src = *segment_.slot(slot.snapshotSource).status;
    if (src.snapshotServed.load(std::memory_order_acquire) == slot.snapshotSeq)
        joinFromSnapshot(s);
}

void SlotManager::joinFromSnapshot(std::uint32_t s)
{
    Slot &slot = slots_[s];
    shm::SlotStatus &st = *segment_.slot(s).status;
    const shm::SlotStatus &src = *segment_.slot(slot.snapshotSource).status;
    const std::uint64_t frame = src.snapshotFrame;
    // From here on every new command reaches this slot too; older ones at or after the
    // snapshot frame are replayed.
    timeline_.attach(s);
    if (!timeline_.replay(s, frame))
        return fail(s, "replay did not fit in the command ring");
    st.joinKind = shm::JoinKind::Snapshot;
    st.joinSourceSlot = slot.snapshotSource;
    st.joinFrame = frame;
    st.joinSnapshotBytes = src.snapshotBytesUsed;
    st.joinSeq.store(++slot.joinSeq, std::memory_order_release);
    enter(s, SlotState::Joining);
}

void SlotManager::advanceJoining(std::uint32_t s)
{
    Slot &slot = slots_[s];
    const auto now = Clock::now();
    if (const std::uint64_t last = segment_.slot(s).status->lastBlock.load(std::memory_order_acquire);
        last != slot.joinBlock) {
        slot.joinBlock = last;
        slot.joinProgressAt = now;
    }
    if (now - slot.since > kJoinLimit)
        return fail(s, "worker did not join the timeline within 10 s");
    if (now - slot.since > kJoinTimeout && now - slot.joinProgressAt > kJoinStall)
        return fail(s, "worker did not join the timeline within 3 s, and rendered no block for 1 s");
    if (segment_.slot(s).status->joinDone.load(std::memory_order_acquire) != slot.joinSeq)
        return;
    if (!slot.fresh || slots_[1 - s].state == SlotState::Verified)
        return enter(s, SlotState::Verifying);
    // First worker up: nothing to compare with, and an empty engine is exact.
    enter(s, SlotState::Verified);
    slot.failing = false;
    log::info("slot ", s, ": verified (fresh start: an empty engine)");
    if (hadTimeline_ && restartHook_)
        restartHook_(std::exchange(lastGapFrame_, UINT64_MAX));
    hadTimeline_ = true;
}

void SlotManager::advanceVerifying(std::uint32_t s)
{
    if (Clock::now() - slots_[s].since > kVerifyTimeout)
        fail(s, "worker was not verified within 3 s");
}

void SlotManager::service()
{
    reap();
    handleRtEvents();
    for (std::uint32_t s = 0; s < shm::kSlots; ++s)
        advance(s);
    watchBothLate();
}

std::string SlotManager::statusWord(std::uint32_t s) const
{
    return supervisor::statusWord(slots_[s].state, output_.activeSlot() == static_cast<int>(s), output_.suspect(s));
}

bool SlotManager::redundant() const
{
    return slots_[0].state == SlotState::Verified && slots_[1].state == SlotState::Verified && !output_.suspect(0) &&
           !output_.suspect(1);
}

} // namespace chronus::supervisor
