#include "recorder/disk_writer.hpp"

#include "common/log.hpp"
#include "recorder/naming.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#include <unistd.h>

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace chronus::rec {

namespace {

constexpr auto kPollInterval = std::chrono::milliseconds(50);
// Room left for libsndfile to complete a header at a part's first write (measured: RF64
// grows by 8 bytes then), so --split-size holds for the whole file.
constexpr std::uint64_t kHeaderSlackBytes = 64;

// peaks[c] = max(peaks[c], |x|) over `frames` interleaved frames of `ch` channels.
void accumulatePeaks(const float *data, std::size_t frames, std::size_t ch, float *peaks)
{
    std::size_t i = 0;
#if defined(__SSE2__)
    const __m128 absMask = _mm_castsi128_ps(_mm_set1_epi32(0x7fffffff));
    if (ch == 1 || ch == 2 || ch == 4) {
        // Four samples per step; lane l always holds channel l % ch.
        __m128 acc = _mm_setzero_ps();
        const std::size_t samples = frames * ch, whole = samples & ~std::size_t(3);
        for (; i < whole; i += 4)
            acc = _mm_max_ps(acc, _mm_and_ps(_mm_loadu_ps(data + i), absMask));
        alignas(16) float lanes[4];
        _mm_store_ps(lanes, acc);
        for (std::size_t l = 0; l < 4; ++l)
            peaks[l % ch] = std::max(peaks[l % ch], lanes[l]);
        for (; i < samples; ++i)
            peaks[i % ch] = std::max(peaks[i % ch], std::fabs(data[i]));
        return;
    }
    if (ch % 4 == 0) {
        for (std::size_t c = 0; c < ch; c += 4) {
            __m128 acc = _mm_loadu_ps(peaks + c);
            for (std::size_t f = 0; f < frames; ++f)
                acc = _mm_max_ps(acc, _mm_and_ps(_mm_loadu_ps(data + f * ch + c), absMask));
            _mm_storeu_ps(peaks + c, acc);
        }
        return;
    }
#endif
    for (std::size_t f = 0; f < frames; ++f)
        for (std::size_t c = 0; c < ch; ++c)
            peaks[c] = std::max(peaks[c], std::fabs(data[f * ch + c]));
}

} // namespace

struct DiskWriter::Take {
    FileFormat format;
    std::unique_ptr<AudioFile> file;
    fs::path basePath;            // root of part names: take.wav for take_0001.wav
    bool numbered = false;        // the first file already has its _0001 name
    int part = 1;
    bool partStarted = false;     // first frame of the current part written
    std::uint64_t partFirstJackFrame = 0;
    std::int64_t partFirstUnixUs = 0;
    std::uint64_t partStartTakeFrame = 0; // take frames written before this part
    std::uint64_t startFrame = 0;
    std::uint64_t maxFrames = 0;
    std::uint64_t stopFrame = UINT64_MAX;
    bool started = false;
    bool stopRequested = false;   // stopFrame came from end()
    TakeSummary summary;
    // Per channel: index in summary.inputGaps of its span still open, or -1.
    std::vector<std::ptrdiff_t> openInputGap;
    std::shared_ptr<Command> ending; // the End command waiting for this take
    Clock::time_point endDeadline;
};

struct DiskWriter::Command {
    enum class Kind { Begin, End, Split } kind;
    TakeRequest request;
    std::optional<std::uint64_t> stopFrame;
    int timeoutMs = 3000;
    std::promise<Expected<fs::path>> pathResult;
    std::promise<Expected<SplitPaths>> splitResult;
    std::promise<Expected<TakeSummary>> summaryResult;
};

DiskWriter::DiskWriter(FrameRing &ring, WriterConfig config) : ring_(ring), config_(std::move(config))
{
    if (!config_.makeSink)
        config_.makeSink = [](int fd) { return std::make_unique<FileSink>(fd); };
    peaks_.assign(config_.channels, 0.0f);
    localPeaks_.assign(config_.channels, 0.0f);
    sourceMissing_.assign(config_.channels, 0);
    inputSources_.assign(config_.channels, std::string());
    publish(); // status is complete before the disk thread runs
}

DiskWriter::~DiskWriter() { stop(); }

void DiskWriter::start()
{
    running_ = true;
    thread_ = std::thread([this] { run(); });
}

void DiskWriter::stop()
{
    if (!thread_.joinable())
        return;
    running_ = false;
    wake_.notify_all();
    thread_.join();
    if (take_)
        finishTake("");
}

void DiskWriter::run()
{
    auto lastRefresh = Clock::now();
    std::unique_lock lock(mutex_);
    while (running_) {
        while (!commands_.empty()) {
            auto cmd = commands_.front();
            commands_.pop_front();
            lock.unlock();
            execute(cmd);
            lock.lock();
        }
        lock.unlock();
        pump();
        if (take_ && take_->file && Clock::now() - lastRefresh >= std::chrono::seconds(1)) {
            // A killed process leaves a header at most about a second stale.
            take_->file->refreshHeader();
            lastRefresh = Clock::now();
        }
        if (take_ && take_->ending && Clock::now() > take_->endDeadline)
            finishTake(""); // the frames we waited for never came (capture stopped or server gone)
        publish();
        lock.lock();
        // Polling keeps the JACK thread free of wake-up syscalls. 50 ms is far below any ring
        // size (at least 4 periods, 8 s by default) and makes each write a large batch;
        // commands wake the thread at once.
        wake_.wait_for(lock, kPollInterval, [this] { return !commands_.empty() || !running_; });
    }
}

void DiskWriter::meterArrivals()
{
    // Frames between the read position and the write position are ours until consumed;
    // meter each once, when it arrives, whether or not a take will write it.
    const std::uint64_t written = ring_.writtenFrames();
    std::uint64_t from = std::max(meteredFrames_, ring_.readFrames());
    while (from < written) {
        std::size_t n = 0;
        const float *p = ring_.peekAt(from, std::size_t(written - from), n);
        if (n == 0)
            break;
        accumulatePeaks(p, n, config_.channels, localPeaks_.data());
        from += n;
    }
    meteredFrames_ = from;
}

void DiskWriter::pump()
{
    meterArrivals();
    for (;;) {
        // Frames first, then events: the feeder queues an event before it writes the frames
        // after it, so every event that stands before these frames is in the queue now. (The
        // other order let frames written just after a Start be read before the Start was
        // seen; the Start then stood behind the read position for good and the take
        // recorded nothing.)
        const std::size_t readable = ring_.readableFrames();
        if (!nextEvent_) {
            TimelineEvent e;
            if (ring_.events().tryPop(e))
                nextEvent_ = e;
        }
        const std::uint64_t readPos = ring_.readFrames();
        if (nextEvent_ && nextEvent_->ringFrame <= readPos) {
            const TimelineEvent e = *nextEvent_;
            nextEvent_.reset();
            switch (e.kind) {
            case TimelineEvent::Kind::Start:
                if (timelineValid_ && take_ && take_->started && e.jackFrame < nextJackFrame_)
                    rebase(*take_, nextJackFrame_ - e.jackFrame, e.jackFrame);
                timelineValid_ = true;
                nextJackFrame_ = e.jackFrame;
                break;
            case TimelineEvent::Kind::Gap:
                // Silence in place of the lost frames keeps file time equal to JACK time.
                totalGapFrames_ += e.frames;
                if (timelineValid_) {
                    deliver(nullptr, std::size_t(e.frames), nextJackFrame_, e.uncertainFrames);
                    nextJackFrame_ += e.frames;
                }
                break;
            case TimelineEvent::Kind::Stop:
                timelineValid_ = false;
                break;
            case TimelineEvent::Kind::SourceLost:
            case TimelineEvent::Kind::SourceBack:
                setSourceMissing(e.channel, e.kind == TimelineEvent::Kind::SourceLost);
                break;
            }
            continue;
        }
        std::size_t avail = readable;
        if (nextEvent_)
            avail = std::min<std::size_t>(avail, std::size_t(nextEvent_->ringFrame - readPos));
        if (!take_) {
            // Idle: keep the pre-roll history in the ring, drop what is older.
            const std::uint64_t keep = prerollFrames_.load(std::memory_order_relaxed);
            avail = std::min<std::size_t>(avail, readable > keep ? std::size_t(readable - keep) : 0);
        }
        if (avail == 0)
            break;
        std::size_t n = 0;
        const float *p = ring_.peek(avail, n);
        if (timelineValid_ && take_)
            deliver(p, n, nextJackFrame_);
        ring_.consume(n);
        nextJackFrame_ += n;
    }
}

void DiskWriter::setSourceMissing(std::uint32_t channel, bool missing)
{
    if (channel >= sourceMissing_.size() || (sourceMissing_[channel] != 0) == missing)
        return;
    sourceMissing_[channel] = missing ? 1 : 0;
    missingCount_ += missing ? 1 : std::size_t(-1);
    if (!missing && take_)
        take_->openInputGap[channel] = -1; // the next loss opens a new span
}

void DiskWriter::noteMissingSources(Take &t, std::uint64_t frames)
{
    if (missingCount_ == 0)
        return;
    const std::uint64_t at = t.summary.frames;
    for (std::uint32_t ch = 0; ch < sourceMissing_.size(); ++ch) {
        if (!sourceMissing_[ch])
            continue;
        t.summary.noSourceFrames[ch] += frames;
        const std::ptrdiff_t open = t.openInputGap[ch];
        if (open >= 0) {
            InputGap &g = t.summary.inputGaps[std::size_t(open)];
            if (g.atFrame + g.frames == at) {
                g.frames += frames;
                continue;
            }
        }
        if (t.summary.inputGaps.size() < kMaxGapsKept) {
            t.openInputGap[ch] = std::ptrdiff_t(t.summary.inputGaps.size());
            t.summary.inputGaps.push_back({ch, at, frames});
        } else {
            t.openInputGap[ch] = -1; // counted in noSourceFrames, no longer listed
        }
    }
}

std::optional<std::uint64_t> DiskWriter::roomInPart(Take &t)
{
    const AudioFile &f = *t.file;
    const std::size_t ch = config_.channels;
    std::uint64_t room = maxFramesPerFile(t.format, ch) - f.frames();
    if (config_.splitFrames)
        room = std::min(room, config_.splitFrames - std::min(config_.splitFrames, f.frames()));
    if (const std::uint64_t bpf = bytesPerFrame(t.format, ch); config_.splitBytes && bpf) {
        // The whole file, header included, stays at or under splitBytes.
        const std::uint64_t overhead = f.overheadBytes() + (f.frames() ? 0 : kHeaderSlackBytes);
        const std::uint64_t cap = config_.splitBytes > overhead ? (config_.splitBytes - overhead) / bpf : 0;
        if (cap == 0 && f.frames() == 0) {
            finishTake(log::cat("--split-size ", config_.splitBytes, " leaves no room for a frame after the ",
                                overhead, "-byte header of ", f.path().string()));
            return std::nullopt;
        }
        room = std::min(room, cap - std::min(cap, f.frames()));
    }
    return room;
}

void DiskWriter::rebase(Take &t, std::uint64_t back, std::uint64_t frame)
{
    // The frames of the new timeline continue the take where the old one left off: the
    // take's start and stop move back with it.
    t.startFrame = t.startFrame > back ? t.startFrame - back : 0;
    if (t.stopFrame != UINT64_MAX)
        t.stopFrame = t.stopFrame > back ? t.stopFrame - back : 0;
    if (t.summary.restarts.size() < kMaxGapsKept)
        t.summary.restarts.emplace_back(t.summary.frames, frame);
    log::warn(t.file ? t.file->path().filename().string() : std::string("the take"),
              ": the source's timeline began again at frame ", frame, " (take frame ", t.summary.frames,
              "); the take goes on");
}

void DiskWriter::deliver(const float *data, std::size_t frames, std::uint64_t jackFrame, std::uint64_t uncertainFrames)
{
    if (!take_ || !take_->file)
        return;
    Take &t = *take_;
    const std::size_t ch = config_.channels;
    // Head: frames before the take's first frame are history we do not want.
    if (jackFrame + frames <= t.startFrame)
        return;
    if (jackFrame < t.startFrame) {
        const std::size_t skip = std::size_t(t.startFrame - jackFrame);
        if (data)
            data += skip * ch;
        frames -= skip;
        jackFrame = t.startFrame;
    }
    if (!t.started) {
        t.started = true;
        t.summary.firstJackFrame = jackFrame;
        if (t.maxFrames)
            t.stopFrame = std::min(t.stopFrame, jackFrame + t.maxFrames);
    }
    if (const std::uint64_t req = requestedStop_.load(std::memory_order_acquire); req < t.stopFrame) {
        t.stopFrame = req;
        t.stopRequested = true;
    }
    // Tail: stop exactly at the stop frame.
    if (jackFrame >= t.stopFrame) {
        finishTake("");
        return;
    }
    const bool reachesEnd = jackFrame + frames >= t.stopFrame;
    if (reachesEnd)
        frames = std::size_t(t.stopFrame - jackFrame);

    while (frames > 0) {
        AudioFile &f = *t.file;
        // Stamped first: the bext chunk is part of the header the size limit counts.
        if (!t.partStarted) {
            t.partStarted = true;
            startPart(t, jackFrame);
        }
        const auto room = roomInPart(t);
        if (!room)
            return;
        if (*room == 0) {
            if (!rotate(t))
                return;
            continue;
        }
        const std::size_t n = std::size_t(std::min<std::uint64_t>(*room, frames));
        noteMissingSources(t, n);
        bool ok;
        if (data) {
            ok = f.write(data, n);
            data += n * ch;
        } else {
            ok = f.writeSilence(n);
            if (t.summary.gaps.size() < kMaxGapsKept)
                t.summary.gaps.push_back({t.summary.frames, n, uncertainFrames});
            ++t.summary.gapCount;
            t.summary.lostFrames += n;
        }
        if (!ok) {
            finishTake(log::cat("write to ", f.path().string(), " failed: ", f.error()));
            return;
        }
        t.summary.frames += n;
        frames -= n;
        jackFrame += n;
    }
    if (reachesEnd)
        finishTake("");
}

bool DiskWriter::openPart(Take &t, const fs::path &wanted, std::string &error, bool firstOfParts)
{
    auto created = createUnique(wanted, firstOfParts ? 1 : 0);
    if (!created) {
        error = created.error();
        return false;
    }
    auto file = AudioFile::create(config_.makeSink(created->fd), created->path, t.format, config_.channels, config_.rate);
    if (!file) {
        ::unlink(created->path.c_str());
        error = file.error();
        return false;
    }
    t.file = std::move(*file);
    t.partStarted = false;
    t.summary.files.push_back(created->path);
    t.summary.path = created->path;
    if (t.summary.files.size() == 1) {
        t.basePath = created->base;
        t.numbered = firstOfParts;
    }
    return true;
}

bool DiskWriter::rotate(Take &t)
{
    t.file->close();
    if (t.file->failed()) {
        finishTake(t.file->error());
        return false;
    }
    fs::path closed = t.file->path();
    if (t.part == 1 && !t.numbered) {
        // A split on demand: the first part gets its _0001 name now that there are parts;
        // link() refuses to replace an existing file, so nothing is overwritten.
        const fs::path first = partName(t.basePath, 1);
        if (::link(t.basePath.c_str(), first.c_str()) == 0) {
            ::unlink(t.basePath.c_str());
            ::unlink((t.basePath.string() + ".json").c_str());
            t.summary.files.front() = first;
            closed = first;
        }
    }
    writeSidecar(t, closed);
    ++t.part;
    std::string error;
    if (!openPart(t, partName(t.basePath, t.part), error)) {
        t.file.reset();
        finishTake(error);
        return false;
    }
    return true;
}

void DiskWriter::startPart(Take &t, std::uint64_t jackFrame)
{
    t.partFirstJackFrame = jackFrame;
    t.partFirstUnixUs = config_.wallClock ? config_.wallClock(jackFrame) : 0;
    t.partStartTakeFrame = t.summary.frames;
    if (t.partFirstUnixUs > 0 &&
        !t.file->stampBroadcast(t.partFirstUnixUs, config_.rate, log::cat("JACK frame ", jackFrame)))
        log::warn("cannot write the bext timestamp of ", t.file->path().string());
    writeSidecar(t, t.file->path());
}

void DiskWriter::writeSidecar(const Take &t, const fs::path &audio)
{
    if (!t.partStarted)
        return;
    const std::int64_t us = t.partFirstUnixUs;
    const std::time_t secs = std::time_t(us / 1000000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char when[64];
    std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
    nlohmann::ordered_json side;
    side["file"] = audio.filename().string();
    side["part"] = t.part;
    if (!config_.clock.empty()) {
        // Placed by the timeline clock: the frame is the timeline's (the journal's, for
        // chronus:clock), and JACK's is as of the cycle that carried it.
        side["clock"] = config_.clock;
        side["first_frame_timeline"] = t.partFirstJackFrame;
        side["first_frame_jack"] =
            config_.jackFrameOf ? config_.jackFrameOf(t.partFirstJackFrame) : t.partFirstJackFrame;
    } else {
        side["first_frame_jack"] = t.partFirstJackFrame;
    }
    side["first_frame_utc"] = log::cat(when, ".", std::to_string(1000000 + us % 1000000).substr(1), "Z");
    side["first_frame_unix_us"] = us;
    side["sample_rate"] = config_.rate;
    side["channels"] = config_.channels;
    side["format"] = nameOf(t.format.container);
    side["sources"] = config_.sources;
    // Where this file holds silence for frames that never reached the recorder (JACK
    // skipped cycles or the ring overflowed), counted from the file's first frame.
    nlohmann::ordered_json gaps = nlohmann::ordered_json::array();
    for (const Gap &g : t.summary.gaps)
        if (g.atFrame >= t.partStartTakeFrame) {
            nlohmann::ordered_json gap = {{"at_frame", g.atFrame - t.partStartTakeFrame}, {"frames", g.frames}};
            if (g.uncertainFrames)
                gap["uncertain_frames"] = g.uncertainFrames;
            gaps.push_back(std::move(gap));
        }
    side["gaps"] = std::move(gaps);
    if (!t.summary.restarts.empty()) {
        nlohmann::ordered_json restarts = nlohmann::ordered_json::array();
        for (const auto &[at, frame] : t.summary.restarts)
            if (at >= t.partStartTakeFrame)
                restarts.push_back({{"at_frame", at - t.partStartTakeFrame}, {"first_frame", frame}});
        side["timeline_restarts"] = std::move(restarts);
    }
    // Per input: the port it records, and where in this file it had no port connected (it
    // holds silence on that channel there). The entries of "gaps" above are whole frames.
    std::vector<std::string> sources;
    {
        std::lock_guard lock(mutex_);
        sources = inputSources_;
    }
    side["input_sources"] = sources;
    nlohmann::ordered_json inputGaps = nlohmann::ordered_json::array();
    const std::uint64_t partEnd = t.summary.frames;
    for (const InputGap &g : t.summary.inputGaps) {
        const std::uint64_t from = std::max(g.atFrame, t.partStartTakeFrame);
        const std::uint64_t to = std::min(g.atFrame + g.frames, partEnd);
        if (from >= to)
            continue;
        inputGaps.push_back({{"channel", g.channel},
                             {"input", "in_" + std::to_string(g.channel + 1)},
                             {"source", g.channel < sources.size() ? sources[g.channel] : std::string()},
                             {"at_frame", from - t.partStartTakeFrame},
                             {"frames", to - from},
                             {"reason", "no source"}});
    }
    side["input_gaps"] = std::move(inputGaps);
    const std::string text = side.dump(2) + "\n";
    const fs::path path = audio.string() + ".json";
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        log::warn("cannot write ", path.string(), ": ", std::strerror(errno));
        return;
    }
    if (::write(fd, text.data(), text.size()) != ssize_t(text.size()))
        log::warn("cannot write ", path.string(), ": ", std::strerror(errno));
    ::close(fd);
}

void DiskWriter::finishTake(const std::string &error)
{
    if (!take_)
        return;
    Take &t = *take_;
    std::string err = error;
    if (t.file) {
        t.file->close();
        writeSidecar(t, t.file->path());
        if (err.empty() && t.file->failed())
            err = t.file->error();
    }
    t.summary.error = err;
    if (!err.empty()) {
        ++diskErrors_;
        lastError_ = err;
        failed_ = true;
        log::error(err);
    }
    lastSummary_ = t.summary;
    auto ending = t.ending;
    const bool stopRequested = t.stopRequested;
    TakeSummary summary = t.summary;
    take_.reset();
    publish();
    if (ending) {
        ending->summaryResult.set_value(summary);
    } else if (stopRequested && err.empty()) {
        endedByRequest_ = true; // the End command is queued behind us and will answer
    } else {
        std::lock_guard lock(mutex_);
        events_.push_back({err.empty() ? WriterEvent::Kind::TakeEnded : WriterEvent::Kind::DiskError, summary});
    }
}

void DiskWriter::execute(const std::shared_ptr<Command> &command)
{
    switch (command->kind) {
    case Command::Kind::Begin: return beginTake(*command);
    case Command::Kind::End: return endTake(command);
    case Command::Kind::Split: return splitTake(*command);
    }
}

void DiskWriter::beginTake(Command &cmd)
{
    if (take_) {
        cmd.pathResult.set_value(fail("already recording " + take_->summary.path.string()));
        return;
    }
    auto t = std::make_unique<Take>();
    t->format = config_.format;
    if (cmd.request.container)
        t->format.container = *cmd.request.container;
    if (config_.splitBytes && !bytesPerFrame(t->format, config_.channels)) {
        cmd.pathResult.set_value(fail(log::cat("--split-size cannot hold ", nameOf(t->format.container),
                                               " files to a size (compressed); use --split-frames or wav, rf64, w64")));
        return;
    }
    const std::string ext = extensionOf(t->format.container);
    const std::string name = cmd.request.name.empty() ? defaultName(std::time(nullptr), ext) : cmd.request.name;
    auto wanted = resolveInside(config_.dir, name, ext);
    if (!wanted) {
        cmd.pathResult.set_value(fail(wanted.error()));
        return;
    }
    // Splitting set up front: the first file is take_0001.wav from the start, so the
    // name the start command answers with stays valid.
    const bool parts = config_.splitFrames || config_.splitBytes;
    std::string error;
    if (!openPart(*t, *wanted, error, parts)) {
        cmd.pathResult.set_value(fail(error));
        return;
    }
    requestedStop_.store(UINT64_MAX, std::memory_order_release);
    endedByRequest_ = false;
    t->startFrame = cmd.request.startFrame;
    t->maxFrames = cmd.request.maxFrames;
    t->openInputGap.assign(config_.channels, -1);
    t->summary.noSourceFrames.assign(config_.channels, 0);
    const fs::path path = t->summary.path;
    failed_ = false; // a take runs again; the error stays in lastError_ and diskErrors_
    take_ = std::move(t);
    publish();
    cmd.pathResult.set_value(path);
}

void DiskWriter::endTake(const std::shared_ptr<Command> &command)
{
    Command &cmd = *command;
    if (!take_ && endedByRequest_) {
        endedByRequest_ = false;
        cmd.summaryResult.set_value(lastSummary_);
        return;
    }
    if (!take_) {
        cmd.summaryResult.set_value(fail("not recording"));
        return;
    }
    // Everything before the stop frame is written; without one, everything in the ring.
    take_->stopFrame = std::min(take_->stopFrame,
                                cmd.stopFrame ? *cmd.stopFrame : nextJackFrame_ + ring_.readableFrames());
    take_->endDeadline = Clock::now() + std::chrono::milliseconds(cmd.timeoutMs);
    // finishTake() answers the command, now or once the remaining frames are written.
    take_->ending = command;
    pump();
    if (!take_)
        return;
    if ((take_->started && nextJackFrame_ >= take_->stopFrame) ||
        (!take_->started && take_->stopFrame <= take_->startFrame))
        finishTake("");
}

void DiskWriter::splitTake(Command &cmd)
{
    if (!take_) {
        cmd.splitResult.set_value(fail("not recording"));
        return;
    }
    pump(); // write everything up to now into the current part
    if (!take_ || !rotate(*take_)) {
        cmd.splitResult.set_value(fail("split failed: " + lastError_));
        return;
    }
    publish();
    const auto &files = take_->summary.files;
    cmd.splitResult.set_value(SplitPaths{files.back(), files[files.size() - 2]});
}

void DiskWriter::publish()
{
    // Disk use per second: exact for uncompressed formats; for FLAC and Ogg measured from
    // the current file once it holds a second, else its uncompressed size.
    const FileFormat format = take_ ? take_->format : config_.format;
    std::uint64_t bytesPerSecond = bytesPerFrame(format, config_.channels) * config_.rate;
    bool measured = false;
    if (bytesPerSecond == 0) {
        const AudioFile *f = take_ ? take_->file.get() : nullptr;
        if (f && f->frames() >= config_.rate && f->bytesWritten() > 0) {
            bytesPerSecond = std::max<std::uint64_t>(1, f->bytesWritten() * config_.rate / f->frames());
            measured = true;
        } else {
            bytesPerSecond = uncompressedBytesPerFrame(format, config_.channels) * config_.rate;
        }
    }
    std::lock_guard lock(mutex_);
    status_.recording = bool(take_);
    status_.bytesPerSecond = bytesPerSecond;
    status_.bytesPerSecondMeasured = measured;
    if (take_) {
        status_.path = take_->summary.path;
        status_.takeFrames = take_->summary.frames;
        status_.lostFrames = take_->summary.lostFrames;
        const auto &g = take_->summary.gaps;
        status_.gaps.assign(g.begin(), g.begin() + std::ptrdiff_t(std::min(g.size(), kMaxGapsShown)));
        status_.noSourceFrames = take_->summary.noSourceFrames;
    } else {
        status_.path = lastSummary_.path;
        status_.takeFrames = lastSummary_.frames;
        status_.lostFrames = lastSummary_.lostFrames;
        const auto &g = lastSummary_.gaps;
        status_.gaps.assign(g.begin(), g.begin() + std::ptrdiff_t(std::min(g.size(), kMaxGapsShown)));
        status_.noSourceFrames = lastSummary_.noSourceFrames;
    }
    status_.totalGapFrames = totalGapFrames_;
    status_.diskErrors = diskErrors_;
    status_.lastError = lastError_;
    status_.failed = failed_;
    for (std::size_t c = 0; c < peaks_.size(); ++c)
        peaks_[c] = std::max(peaks_[c], localPeaks_[c]);
    std::fill(localPeaks_.begin(), localPeaks_.end(), 0.0f);
}

template <typename T>
static T waitFor(std::future<T> &f, int timeoutMs, const char *what)
{
    if (f.wait_for(std::chrono::milliseconds(timeoutMs)) != std::future_status::ready)
        return fail(std::string("the disk thread did not answer ") + what);
    return f.get();
}

Expected<fs::path> DiskWriter::begin(const TakeRequest &request)
{
    auto cmd = std::make_shared<Command>();
    cmd->kind = Command::Kind::Begin;
    cmd->request = request;
    auto fut = cmd->pathResult.get_future();
    {
        std::lock_guard lock(mutex_);
        commands_.push_back(cmd);
    }
    wake_.notify_all();
    return waitFor(fut, 5000, "start");
}

Expected<TakeSummary> DiskWriter::end(std::optional<std::uint64_t> stopFrame, int timeoutMs)
{
    if (stopFrame) // effective at once, even while the disk thread is busy
        requestedStop_.store(std::min(requestedStop_.load(std::memory_order_relaxed), *stopFrame),
                             std::memory_order_release);
    auto cmd = std::make_shared<Command>();
    cmd->kind = Command::Kind::End;
    cmd->stopFrame = stopFrame;
    cmd->timeoutMs = timeoutMs;
    auto fut = cmd->summaryResult.get_future();
    {
        std::lock_guard lock(mutex_);
        commands_.push_back(cmd);
    }
    wake_.notify_all();
    return waitFor(fut, timeoutMs + 5000, "stop");
}

Expected<DiskWriter::SplitPaths> DiskWriter::split()
{
    auto cmd = std::make_shared<Command>();
    cmd->kind = Command::Kind::Split;
    auto fut = cmd->splitResult.get_future();
    {
        std::lock_guard lock(mutex_);
        commands_.push_back(cmd);
    }
    wake_.notify_all();
    return waitFor(fut, 5000, "split");
}

void DiskWriter::setPrerollFrames(std::uint64_t frames) { prerollFrames_.store(frames, std::memory_order_relaxed); }

void DiskWriter::setInputSources(std::vector<std::string> sources)
{
    sources.resize(config_.channels);
    std::lock_guard lock(mutex_);
    inputSources_ = std::move(sources);
}

WriterStatus DiskWriter::status() const
{
    std::lock_guard lock(mutex_);
    return status_;
}

std::vector<float> DiskWriter::takePeaks()
{
    std::lock_guard lock(mutex_);
    std::vector<float> out = peaks_;
    std::fill(peaks_.begin(), peaks_.end(), 0.0f);
    return out;
}

std::optional<WriterEvent> DiskWriter::pollEvent()
{
    std::lock_guard lock(mutex_);
    if (events_.empty())
        return std::nullopt;
    WriterEvent e = std::move(events_.front());
    events_.pop_front();
    return e;
}

} // namespace chronus::rec
