#include "supervisor/timeline.hpp"

#include "common/jack_client.hpp"
#include "common/log.hpp"
#include "model/script.hpp"

#include <jack/jack.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <ctime>
#include <limits>

namespace chronus::supervisor {

using shm::kNoBlock;

std::uint64_t ntpToJackUsecs(std::uint64_t ntp)
{
    // NTP counts from 1900; the wall clock from 1970. Map through the difference between
    // the wall clock and JACK's monotonic microsecond clock, read now.
    constexpr std::int64_t kNtpToUnixSeconds = 2208988800LL;
    const double ntpSeconds = double(ntp >> 32) + double(ntp & 0xffffffffu) / 4294967296.0;
    const double unixMicros = (ntpSeconds - double(kNtpToUnixSeconds)) * 1e6;
    return static_cast<std::uint64_t>(std::max<std::int64_t>(0, std::llround(unixMicros) - wallMinusJackMicros()));
}

Timeline::Timeline(OutputStage &output, shm::Segment &segment)
    : output_(output), segment_(segment), period_(segment.geometry().periodFrames),
      rate_(segment.geometry().sampleRate)
{
}

Expected<void> Timeline::openJournal(const std::string &path)
{
    journal_.open(path, std::ios::out | std::ios::trunc);
    if (!journal_)
        return fail("cannot write the journal '" + path + "'");
    journal_ << "# Chronus journal: every command as it took effect, at exact timeline frames.\n"
             << "# Replay: chronus-render --script " << path << " --sample-rate " << rate_ << " --block-size "
             << period_ << " --channels " << segment_.geometry().channels << " --duration SECONDS -o out.wav\n"
             << "# origin " << segment_.header().originAbs << "\n"
             << "# sample-rate " << rate_ << "\n"
             << "# block-size " << period_ << "\n";
    journal_.flush();
    return {};
}

std::uint64_t Timeline::safeFrame() const noexcept
{
    // In the cycle starting at F the workers render F + L*P. A record pushed now, while the
    // supervisor's last cycle started at F, reaches them before cycle F + 2P starts (we
    // have at least one whole period), whose block starts at F + (L + 2) * P. L is the
    // lookahead now: --lookahead auto raises it here first, and the workers see it a
    // cycle later; when it is lowered they have rendered further than it says, which their
    // drain frames below account for.
    const std::uint64_t cycle = output_.cycleFrame();
    const std::uint32_t lookahead = segment_.header().lookahead.load(std::memory_order_acquire);
    std::uint64_t safe = (cycle == kNoBlock ? 0 : cycle) + std::uint64_t{lookahead + 2} * period_;
    // A worker can be further on than that (catching up, or run by JACK in a cycle that
    // skipped us): never stamp a frame near the block it is taking events for now.
    for (std::uint32_t s = 0; s < shm::kSlots; ++s) {
        if (!attached_[s])
            continue;
        const std::uint64_t drain = segment_.slot(s).status->drainFrame.load(std::memory_order_seq_cst);
        if (drain != kNoBlock)
            safe = std::max(safe, drain + kDrainMarginBlocks * period_);
    }
    return safe;
}

void Timeline::checkDelivered(std::uint64_t frame) noexcept
{
    // Pairs with Worker::takeEvents(): our pushes, a full fence, then its drain frame. A
    // worker whose drain frame we see as D takes the records before rendering D + P; a
    // record stamped earlier may have missed its block there (the worker then withdraws its
    // blocks from that frame and is replaced; the other slot plays on).
    std::atomic_thread_fence(std::memory_order_seq_cst);
    for (std::uint32_t s = 0; s < shm::kSlots; ++s) {
        if (!attached_[s])
            continue;
        const std::uint64_t drain = segment_.slot(s).status->drainFrame.load(std::memory_order_relaxed);
        if (drain != kNoBlock && frame < drain + period_)
            ++atRisk_;
    }
}

std::uint64_t Timeline::frameFor(std::optional<std::uint64_t> ntpTimetag, bool afterCommits)
{
    const std::uint64_t safe = safeFrame();
    std::uint64_t frame = safe;
    if (ntpTimetag) {
        // Every message of one bundle shares the decision made for its first message.
        if (lastTimetag_ == ntpTimetag) {
            frame = std::max(lastTimetagFrame_, safe);
        } else {
            const std::uint64_t tagged = output_.frameAtJackTime(ntpToJackUsecs(*ntpTimetag));
            if (tagged == kNoBlock || tagged < safe)
                ++late_;
            else
                frame = tagged;
            lastTimetag_ = ntpTimetag;
            lastTimetagFrame_ = frame;
        }
    }
    return afterCommits ? std::max(frame, lastCommit_) : frame;
}

std::optional<std::uint32_t> Timeline::generationBefore(std::uint64_t frame) const
{
    const std::uint64_t at = std::max(frame, safeFrame());
    // Commit frames rise with their generations: the first one after `at` ends the patch
    // that plays there.
    for (auto it = commitFrames_.begin(); it != commitFrames_.end(); ++it)
        if (it->second > at)
            return it->first - 1;
    return std::nullopt;
}

bool Timeline::stampBefore(const model::Outcome &outcome, std::uint32_t generation, std::uint64_t frame,
                           std::string_view address, const std::vector<model::Arg> &args)
{
    const std::uint64_t at = std::max(frame, safeFrame());
    if (generationBefore(at) != generation)
        return false;
    Request request{outcome, at, std::string(address), args};
    request.beforeCommit = true;
    stampEvents(request);
    return true;
}

bool Timeline::deliver(std::uint32_t slot, const Entry &entry)
{
    const shm::SlotView view = segment_.slot(slot);
    bool ok = true;
    if (entry.record.kind == shm::RecordKind::Event) {
        ok = view.events.tryPush(entry.record);
    } else {
        shm::CommandRecord rec = entry.record;
        rec.textOffset = view.text.write(*entry.text);
        ok = rec.textOffset != kNoBlock && view.control.tryPush(rec);
    }
    if (!ok)
        overflowed_[slot] = true;
    return ok;
}

void Timeline::send(Entry entry)
{
    for (std::uint32_t s = 0; s < shm::kSlots; ++s) {
        if (!attached_[s] || overflowed_[s])
            continue;
        if (!deliver(s, entry))
            log::warn("slot ", s, ": its command ring is full; it will be resynced");
    }
    history_.push_back(std::move(entry));
}

Timeline::Ticket Timeline::apply(const model::Outcome &outcome, std::uint64_t frame, std::string_view address,
                                 const std::vector<model::Arg> &args, ApplyOptions options)
{
    Request request{outcome, frame, std::string(address), args, options.track ? ++nextTicket_ : 0,
                    options.freshStart, options.silentFrom};
    const Ticket ticket = request.ticket;
    if (options.freshStart) {
        // The live patch again, after silence: nothing is stamped before it, nor before any
        // commit it already holds.
        commitFrames_.clear();
        firstPlayable_ = outcome.commit->generation + 1;
    } else if (outcome.commit && outcome.commit->generation >= firstPlayable_) {
        // It cannot take effect before the frame asked for, nor before the commit ahead of it.
        const std::uint64_t after = commitFrames_.empty() ? 0 : commitFrames_.rbegin()->second + 1;
        commitFrames_[outcome.commit->generation] = std::max(frame, after);
    }
    if (pending_ || !waiting_.empty())
        waiting_.push_back(std::move(request)); // behind a commit being prepared
    else
        carryOut(std::move(request));
    return ticket;
}

Timeline::Ticket Timeline::barrier() { return apply({}, 0, {}, {}, {.track = true}); }

std::optional<std::uint64_t> Timeline::takeFrame(Ticket ticket)
{
    const auto it = stampedTickets_.find(ticket);
    if (it == stampedTickets_.end())
        return std::nullopt;
    const std::uint64_t frame = it->second;
    stampedTickets_.erase(it);
    return frame;
}

void Timeline::resolve(Ticket ticket, std::uint64_t frame)
{
    if (ticket != 0)
        stampedTickets_[ticket] = frame;
}

void Timeline::carryOut(Request request)
{
    if (request.address.empty()) // a barrier: everything before it is stamped
        return resolve(request.ticket, lastStamped_);
    if (request.outcome.commit)
        return prepare(std::move(request));
    stampEvents(request);
}

void Timeline::stampEvents(const Request &request)
{
    // The frame was chosen before the command was resolved (or before it waited behind a
    // commit); if it is no longer safe, stamp it at the first safe frame. Never before the
    // latest commit: it was resolved against that patch.
    const std::uint64_t safe = safeFrame();
    const std::uint64_t frame = std::max({request.frame, safe, request.beforeCommit ? 0 : lastCommit_});
    for (model::Event e : request.outcome.events) {
        e.frame = frame;
        if (frame > safe)
            ahead_.push(frame);
        Entry entry;
        entry.record.kind = shm::RecordKind::Event;
        entry.record.frame = frame;
        entry.record.event = e;
        send(std::move(entry));
    }
    journal(frame, request.address, request.args);
    checkDelivered(frame);
    lastStamped_ = std::max(lastStamped_, frame);
    ++stamped_;
    resolve(request.ticket, frame);
}

void Timeline::prepare(Request request)
{
    const model::CompiledPatch &patch = *request.outcome.commit;
    Entry entry;
    entry.record.kind = shm::RecordKind::Commit;
    entry.record.frame = kNoBlock; // not stamped yet: a resync replays it
    entry.record.generation = patch.generation;
    entry.record.crossfadeFrames = model::crossfadeFrames(request.outcome.crossfadeMs, rate_);
    entry.text = std::make_shared<const std::string>(patch.spec.toJson(-1));
    entry.record.textLength = static_cast<std::uint32_t>(entry.text->size());
    const std::uint32_t generation = patch.generation;
    send(std::move(entry));
    pending_ = Preparing{std::move(request), generation, std::chrono::steady_clock::now()};
    tick(); // nobody to wait for when no slot is attached
}

bool Timeline::prepared() const noexcept
{
    for (std::uint32_t s = 0; s < shm::kSlots; ++s) {
        if (!attached_[s] || overflowed_[s] || overdue_[s])
            continue;
        if (segment_.slot(s).status->preparedGeneration.load(std::memory_order_acquire) < pending_->generation)
            return false;
    }
    return true;
}

void Timeline::tick()
{
    while (pending_) {
        if (!prepared()) {
            if (std::chrono::steady_clock::now() - pending_->since < kPrepareTimeout)
                return;
            // A slot that does not build the patch in time is replaced (SlotManager sees
            // prepareOverdue); the others go on with the commit.
            for (std::uint32_t s = 0; s < shm::kSlots; ++s)
                if (attached_[s] &&
                    segment_.slot(s).status->preparedGeneration.load(std::memory_order_acquire) < pending_->generation)
                    overdue_[s] = true;
        }
        activate();
        while (!pending_ && !waiting_.empty()) {
            Request next = std::move(waiting_.front());
            waiting_.pop_front();
            carryOut(std::move(next));
        }
    }
}

void Timeline::activate()
{
    Preparing commit = std::move(*pending_);
    pending_.reset();
    const Request &request = commit.request;
    // After everything stamped before it (commands scheduled ahead included): those were
    // resolved against the patch live when they arrived, and take effect on it.
    const std::uint64_t frame = std::max({request.frame, safeFrame(), lastStamped_ + 1});
    for (Entry &e : history_)
        if (e.record.kind == shm::RecordKind::Commit && e.record.generation == commit.generation)
            e.record.frame = frame;
    if (!request.freshStart && commit.generation >= firstPlayable_)
        commitFrames_[commit.generation] = frame;
    Entry entry;
    entry.record.kind = shm::RecordKind::Event;
    entry.record.frame = frame;
    entry.record.event.frame = frame;
    entry.record.event.type = model::EventType::Activate;
    entry.record.event.generation = commit.generation;
    entry.record.event.node = model::crossfadeFrames(request.outcome.crossfadeMs, rate_);
    // A fresh start keeps no node's state, as the journal's replay (an empty patch first).
    entry.record.event.param = request.freshStart ? model::kActivateFresh : 0;
    send(std::move(entry));
    if (request.freshStart) {
        // Until now the workers that replaced the lost ones played an empty engine: silence.
        if (request.silentFrom < frame)
            journalNote(log::cat("gap: frames ", request.silentFrom, " +", frame - request.silentFrom,
                                 " (both workers were lost: silence until the live patch is back)"));
        journalFreshStart(frame - 1);
    }
    if (request.address == "/patch/load") {
        // Journal the loaded patch itself, so the journal does not depend on files.
        std::vector<model::Arg> loadArgs{request.outcome.commit->spec.toJson(-1)};
        if (request.args.size() > 1)
            loadArgs.push_back(request.args[1]);
        journal(frame, request.address, loadArgs);
    } else {
        journal(frame, request.address, request.args);
    }
    checkDelivered(frame);
    lastCommit_ = std::max(lastCommit_, frame);
    lastStamped_ = std::max(lastStamped_, frame);
    ++stamped_;
    resolve(request.ticket, frame);
}

bool Timeline::replay(std::uint32_t slot, std::uint64_t frame)
{
    bool ok = true;
    for (const Entry &e : history_) {
        const std::uint64_t at = e.record.kind == shm::RecordKind::Event ? e.record.event.frame : e.record.frame;
        if (at >= frame)
            ok = deliver(slot, e) && ok;
    }
    return ok;
}

void Timeline::resetRings(std::uint32_t slot)
{
    // Only called while no worker runs in `slot`: then we may move the consumer's index.
    const shm::Geometry &g = segment_.geometry();
    const shm::Layout l = shm::computeLayout(g);
    std::byte *base = reinterpret_cast<std::byte *>(&segment_.header());
    for (std::size_t offset : {l.eventIdx[slot], l.controlIdx[slot], l.textIdx[slot]}) {
        auto *idx = reinterpret_cast<shm::RingIndices *>(base + offset);
        idx->tail.store(idx->head.load(std::memory_order_acquire), std::memory_order_release);
    }
    overflowed_[slot] = false;
}

void Timeline::prune()
{
    // A resync snapshot is taken at the active worker's next block, never earlier than the
    // current output frame; keep two seconds more for safety.
    const std::uint64_t cycle = output_.cycleFrame();
    if (cycle == kNoBlock)
        return;
    while (!ahead_.empty() && ahead_.top() < cycle)
        ahead_.pop();
    const std::uint64_t keep = std::uint64_t(2 * rate_);
    const std::uint64_t horizon = cycle > keep ? cycle - keep : 0;
    auto frameOf = [](const Entry &e) {
        return e.record.kind == shm::RecordKind::Event ? e.record.event.frame : e.record.frame;
    };
    while (!history_.empty() && frameOf(history_.front()) < horizon)
        history_.pop_front();
    // Commits long played: nothing can be stamped before them any more (the newest stays).
    while (commitFrames_.size() > 1 && std::next(commitFrames_.begin())->second < cycle)
        commitFrames_.erase(commitFrames_.begin());
    // History is in arrival order: an entry scheduled ahead at the front holds back the
    // entries after it. Now and then sweep the whole of it.
    if (history_.size() > 4096 && ++sweepCountdown_ >= 256) {
        sweepCountdown_ = 0;
        std::erase_if(history_, [&](const Entry &e) { return frameOf(e) < horizon; });
    }
}

void Timeline::journalFreshStart(std::uint64_t frame)
{
    if (!journal_.is_open())
        return;
    // The replacement workers begin empty, so the re-committed patch starts from fresh
    // state; a replay reaches the same by committing an empty patch just before it.
    journal_ << "# both workers were lost: silence, then the live patch again from a fresh state\n";
    journal(frame, "/patch/clear", {});
    journal(frame, "/patch/commit", {0.0f});
}

void Timeline::journalNote(const std::string &text)
{
    if (!journal_.is_open())
        return;
    journal_ << "# " << text << '\n';
    journal_.flush();
}

void Timeline::journal(std::uint64_t frame, std::string_view address, const std::vector<model::Arg> &args)
{
    if (!journal_.is_open())
        return;
    journal_ << model::formatScriptLine(frame, address, args) << '\n';
    journal_.flush();
}

} // namespace chronus::supervisor
