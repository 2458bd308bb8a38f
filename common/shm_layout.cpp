#include "common/shm_layout.hpp"

#include <boost/interprocess/mapped_region.hpp>
#include <boost/interprocess/shared_memory_object.hpp>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <new>

#include <sys/stat.h>
#include <unistd.h>

namespace bip = boost::interprocess;

namespace chronus::shm {

namespace {

constexpr std::size_t align64(std::size_t n) { return (n + 63) & ~std::size_t{63}; }
constexpr bool isPow2(std::uint64_t n) { return n != 0 && (n & (n - 1)) == 0; }

bool processAlive(int pid)
{
    if (pid <= 0)
        return false;
    return ::kill(pid, 0) == 0 || errno == EPERM;
}

} // namespace

std::string segmentName(std::string_view instance) { return "chronus-" + std::string(instance); }

Expected<void> validate(const Geometry &g)
{
    if (g.channels == 0 || g.channels > kMaxChannels)
        return fail("channels must be 1.." + std::to_string(kMaxChannels) + ", not " + std::to_string(g.channels));
    if (g.periodFrames == 0 || g.periodFrames > 8192)
        return fail("JACK buffer size " + std::to_string(g.periodFrames) + " is outside 1..8192");
    if (!isPow2(g.ringBlocks) || g.ringBlocks < 4)
        return fail("ring blocks must be a power of two >= 4");
    if (g.lookahead == 0 || g.lookahead + 2 >= g.ringBlocks)
        return fail("lookahead must be 1.." + std::to_string(g.ringBlocks - 3));
    if (!isPow2(g.eventCapacity) || !isPow2(g.controlCapacity))
        return fail("ring capacities must be powers of two");
    if (!isPow2(g.textBytes))
        return fail("text ring size must be a power of two");
    if (g.sampleRate <= 0)
        return fail("sample rate must be positive");
    if (g.inputs > 16)
        return fail("inputs must be 0..16, not " + std::to_string(g.inputs));
    if (2 * std::uint64_t{g.stems} >= g.channels)
        return fail("stems take 2 of the " + std::to_string(g.channels) + " channels each: at most " +
                    std::to_string((g.channels - 1) / 2));
    if (!isPow2(g.inputBlocks) || g.inputBlocks < 8)
        return fail("input blocks must be a power of two >= 8");
    return {};
}

Layout computeLayout(const Geometry &g)
{
    Layout l{};
    l.blockStride = align64(sizeof(BlockHeader) + std::size_t{g.channels} * g.periodFrames * sizeof(float));
    std::size_t at = align64(sizeof(Header));
    for (std::uint32_t s = 0; s < kSlots; ++s) {
        l.slotStatus[s] = at;
        at = align64(at + sizeof(SlotStatus));
        l.audioRing[s] = at;
        at += l.blockStride * g.ringBlocks;
        l.eventIdx[s] = at;
        at = align64(at + sizeof(RingIndices));
        l.eventRecords[s] = at;
        at += sizeof(CommandRecord) * g.eventCapacity;
        l.controlIdx[s] = at;
        at = align64(at + sizeof(RingIndices));
        l.controlRecords[s] = at;
        at += sizeof(CommandRecord) * g.controlCapacity;
        l.textIdx[s] = at;
        at = align64(at + sizeof(RingIndices));
        l.textData[s] = at;
        at = align64(at + g.textBytes);
        l.snapshot[s] = at;
        at = align64(at + g.snapshotBytes);
    }
    l.inputStride = align64(sizeof(BlockHeader) + std::size_t{g.inputs} * g.periodFrames * sizeof(float));
    l.inputRing = at;
    at += g.inputs ? l.inputStride * g.inputBlocks : 0;
    l.totalBytes = at;
    return l;
}

std::uint64_t blockHash(const float *const *channels, std::uint32_t channelCount, std::uint32_t frames,
                        bool &nonFinite) noexcept
{
    std::uint64_t h = 0xcbf29ce484222325ull;
    std::uint32_t bad = 0;
    for (std::uint32_t c = 0; c < channelCount; ++c) {
        const float *x = channels[c];
        for (std::uint32_t i = 0; i < frames; ++i) {
            std::uint32_t bits;
            std::memcpy(&bits, &x[i], sizeof bits);
            // Exponent all ones: Inf or NaN.
            bad |= static_cast<std::uint32_t>((bits & 0x7f800000u) == 0x7f800000u);
            h = (h ^ bits) * 0x100000001b3ull;
        }
    }
    nonFinite = bad != 0;
    return h;
}

bool RecordRing::tryPush(const CommandRecord &record) const noexcept
{
    const std::uint64_t head = idx_->head.load(std::memory_order_relaxed);
    if (head - idx_->tail.load(std::memory_order_acquire) > mask_)
        return false;
    records_[head & mask_] = record;
    idx_->head.store(head + 1, std::memory_order_release);
    return true;
}

bool RecordRing::tryPop(CommandRecord &out) const noexcept
{
    const std::uint64_t tail = idx_->tail.load(std::memory_order_relaxed);
    if (tail == idx_->head.load(std::memory_order_acquire))
        return false;
    out = records_[tail & mask_];
    idx_->tail.store(tail + 1, std::memory_order_release);
    return true;
}

bool RecordRing::peek(CommandRecord &out) const noexcept
{
    // Acquire: a worker's JACK thread peeks the ring its control thread consumes, and must
    // see what that thread did before taking a record out.
    const std::uint64_t tail = idx_->tail.load(std::memory_order_acquire);
    if (tail == idx_->head.load(std::memory_order_acquire))
        return false;
    out = records_[tail & mask_];
    return true;
}

std::uint64_t RecordRing::size() const noexcept
{
    return idx_->head.load(std::memory_order_acquire) - idx_->tail.load(std::memory_order_acquire);
}

std::uint64_t TextRing::write(std::string_view text) const noexcept
{
    const std::uint64_t head = idx_->head.load(std::memory_order_relaxed);
    const std::uint64_t used = head - idx_->tail.load(std::memory_order_acquire);
    if (text.size() > capacity() - used)
        return kNoBlock;
    for (std::size_t i = 0; i < text.size();) {
        // Copy up to the end of the buffer, then wrap.
        const std::uint64_t at = (head + i) & mask_;
        const std::size_t n = std::min<std::size_t>(text.size() - i, capacity() - at);
        std::memcpy(data_ + at, text.data() + i, n);
        i += n;
    }
    idx_->head.store(head + text.size(), std::memory_order_release);
    return head;
}

std::string TextRing::read(std::uint64_t offset, std::uint32_t length) const
{
    std::string out(length, '\0');
    if (offset + length > idx_->head.load(std::memory_order_acquire))
        return {};
    for (std::size_t i = 0; i < length;) {
        const std::uint64_t at = (offset + i) & mask_;
        const std::size_t n = std::min<std::size_t>(length - i, capacity() - at);
        std::memcpy(out.data() + i, data_ + at, n);
        i += n;
    }
    idx_->tail.store(offset + length, std::memory_order_release);
    return out;
}

BlockRead readBlock(const SlotView &slot, std::uint64_t frame, float *const *copyTo) noexcept
{
    BlockRead r;
    BlockHeader &b = slot.block(frame);
    if (b.stamp.load(std::memory_order_acquire) != frame)
        return r;
    const float *channels[kMaxChannels];
    for (std::uint32_t c = 0; c < slot.channels && c < kMaxChannels; ++c)
        channels[c] = slot.blockChannel(b, c);
    const std::uint64_t stampedHash = b.hash;
    if (copyTo != nullptr) {
        for (std::uint32_t c = 0; c < slot.channels; ++c)
            std::memcpy(copyTo[c], channels[c], sizeof(float) * slot.periodFrames);
        r.hash = blockHash(copyTo, slot.channels, slot.periodFrames, r.nonFinite);
    } else {
        r.hash = blockHash(channels, slot.channels, slot.periodFrames, r.nonFinite);
    }
    // Seqlock check: the producer clears the stamp before rewriting this block.
    std::atomic_thread_fence(std::memory_order_acquire);
    if (b.stamp.load(std::memory_order_relaxed) != frame)
        return r;
    r.present = true;
    r.hashOk = r.hash == stampedHash;
    return r;
}

struct Segment::Impl {
    bip::shared_memory_object object;
    bip::mapped_region region;
};

Expected<void> Segment::claim(const std::string &instance, bool *staleRemoved)
{
    if (staleRemoved != nullptr)
        *staleRemoved = false;
    const std::string name = segmentName(instance);
    // An existing segment is either a live instance (refuse) or a crashed one's (remove).
    try {
        bip::shared_memory_object existing(bip::open_only, name.c_str(), bip::read_only);
        bip::offset_t size = 0;
        int pid = 0;
        if (existing.get_size(size) && size >= static_cast<bip::offset_t>(sizeof(Header))) {
            bip::mapped_region region(existing, bip::read_only, 0, sizeof(Header));
            const auto *h = static_cast<const Header *>(region.get_address());
            if (h->magic == kMagic)
                pid = h->supervisorPid;
        }
        if (processAlive(pid) && pid != ::getpid())
            return fail("instance '" + instance + "' is already running (supervisor pid " + std::to_string(pid) +
                        ", shared memory /dev/shm/" + name + ")");
        bip::shared_memory_object::remove(name.c_str());
        if (staleRemoved != nullptr)
            *staleRemoved = true;
    } catch (const bip::interprocess_exception &) {
        // Not there: the normal case.
    }
    return {};
}

Expected<std::unique_ptr<Segment>> Segment::create(const std::string &instance, const Geometry &geometry,
                                                   bool *staleRemoved)
{
    if (auto ok = validate(geometry); !ok)
        return fail(ok.error());
    if (auto claimed = claim(instance, staleRemoved); !claimed)
        return fail(claimed.error());
    const std::string name = segmentName(instance);

    const Layout layout = computeLayout(geometry);
    auto seg = std::unique_ptr<Segment>(new Segment);
    seg->impl_ = std::make_unique<Impl>();
    seg->name_ = name;
    try {
        bip::permissions perms(0600);
        seg->impl_->object = bip::shared_memory_object(bip::create_only, name.c_str(), bip::read_write, perms);
        ::fchmod(seg->impl_->object.get_mapping_handle().handle, 0600); // regardless of umask
        seg->impl_->object.truncate(static_cast<bip::offset_t>(layout.totalBytes));
        seg->impl_->region = bip::mapped_region(seg->impl_->object, bip::read_write);
    } catch (const bip::interprocess_exception &e) {
        bip::shared_memory_object::remove(name.c_str());
        return fail("cannot create shared memory /dev/shm/" + name + ": " + e.what());
    }
    seg->owner_ = true;
    seg->base_ = static_cast<std::byte *>(seg->impl_->region.get_address());
    std::memset(seg->base_, 0, sizeof(Header)); // the rest is zero from truncate()

    auto *h = new (seg->base_) Header{};
    h->magic = kMagic;
    h->version = kVersion;
    h->totalBytes = layout.totalBytes;
    h->geometry = geometry;
    h->supervisorPid = ::getpid();
    std::snprintf(h->instance, sizeof h->instance, "%s", instance.c_str());
    h->originAbs = 0;
    h->cycleAbs.store(0, std::memory_order_relaxed);
    h->lookahead.store(geometry.lookahead, std::memory_order_relaxed);
    for (std::uint32_t s = 0; s < kSlots; ++s) {
        new (seg->base_ + layout.slotStatus[s]) SlotStatus{};
        new (seg->base_ + layout.eventIdx[s]) RingIndices{};
        new (seg->base_ + layout.controlIdx[s]) RingIndices{};
        new (seg->base_ + layout.textIdx[s]) RingIndices{};
        for (std::uint32_t b = 0; b < geometry.ringBlocks; ++b) {
            auto *block = new (seg->base_ + layout.audioRing[s] + b * layout.blockStride) BlockHeader{};
            block->stamp.store(kNoBlock, std::memory_order_relaxed);
        }
    }
    for (std::uint32_t b = 0; geometry.inputs && b < geometry.inputBlocks; ++b) {
        auto *block = new (seg->base_ + layout.inputRing + b * layout.inputStride) BlockHeader{};
        block->stamp.store(kNoBlock, std::memory_order_relaxed);
    }
    std::atomic_thread_fence(std::memory_order_release);
    return seg;
}

Expected<std::unique_ptr<Segment>> Segment::open(const std::string &instance)
{
    const std::string name = segmentName(instance);
    auto seg = std::unique_ptr<Segment>(new Segment);
    seg->impl_ = std::make_unique<Impl>();
    seg->name_ = name;
    try {
        seg->impl_->object = bip::shared_memory_object(bip::open_only, name.c_str(), bip::read_write);
        bip::offset_t size = 0;
        if (!seg->impl_->object.get_size(size) || size < static_cast<bip::offset_t>(sizeof(Header)))
            return fail("shared memory /dev/shm/" + name + " is too small to be a Chronus segment");
        seg->impl_->region = bip::mapped_region(seg->impl_->object, bip::read_write);
    } catch (const bip::interprocess_exception &e) {
        return fail("cannot open shared memory /dev/shm/" + name + ": " + e.what());
    }
    seg->base_ = static_cast<std::byte *>(seg->impl_->region.get_address());
    const Header &h = seg->header();
    if (h.magic != kMagic)
        return fail("/dev/shm/" + name + " is not a Chronus segment");
    if (h.version != kVersion)
        return fail("/dev/shm/" + name + " has layout version " + std::to_string(h.version) + ", this program " +
                    std::to_string(kVersion));
    if (auto ok = validate(h.geometry); !ok)
        return fail("/dev/shm/" + name + ": " + ok.error());
    if (computeLayout(h.geometry).totalBytes != h.totalBytes || seg->impl_->region.get_size() < h.totalBytes)
        return fail("/dev/shm/" + name + " has a size that does not match its geometry");
    return seg;
}

Segment::~Segment()
{
    if (owner_)
        bip::shared_memory_object::remove(name_.c_str());
}

BlockHeader *Segment::inputBlock(std::uint64_t frame) const noexcept
{
    const Geometry &g = geometry();
    if (g.inputs == 0)
        return nullptr;
    const Layout l = computeLayout(g);
    const std::uint64_t index = (frame / g.periodFrames) & (g.inputBlocks - 1);
    return reinterpret_cast<BlockHeader *>(base_ + l.inputRing + index * l.inputStride);
}

namespace {
// Input block stamps besides a frame: being written for frame F, or given up for frame F by a
// reader that needed it first (nobody may publish F after that: all readers hear silence).
constexpr std::uint64_t kWritingBit = std::uint64_t{1} << 61;
constexpr std::uint64_t kMissedBit = std::uint64_t{1} << 62;
} // namespace

void publishInput(const Segment &segment, std::uint64_t frame, const float *const *in) noexcept
{
    BlockHeader *b = segment.inputBlock(frame);
    if (!b)
        return;
    const Geometry &g = segment.geometry();
    std::uint64_t old = b->stamp.load(std::memory_order_acquire);
    if (old == (frame | kMissedBit) || !b->stamp.compare_exchange_strong(old, frame | kWritingBit))
        return; // a reader gave this frame up already
    for (std::uint32_t c = 0; c < g.inputs; ++c) {
        float *dst = segment.inputChannel(*b, c);
        if (in[c])
            std::memcpy(dst, in[c], sizeof(float) * g.periodFrames);
        else
            std::memset(dst, 0, sizeof(float) * g.periodFrames);
    }
    b->frames = g.periodFrames;
    std::uint64_t writing = frame | kWritingBit;
    b->stamp.compare_exchange_strong(writing, frame, std::memory_order_release); // fails if given up meanwhile
}

bool readInput(const Segment &segment, std::uint64_t frame, float *const *out) noexcept
{
    const Geometry &g = segment.geometry();
    BlockHeader *b = segment.inputBlock(frame);
    bool ok = false;
    for (int attempt = 0; b && attempt < 4; ++attempt) {
        std::uint64_t stamp = b->stamp.load(std::memory_order_acquire);
        if (stamp == frame) {
            for (std::uint32_t c = 0; c < g.inputs; ++c)
                std::memcpy(out[c], segment.inputChannel(*b, c), sizeof(float) * g.periodFrames);
            std::atomic_thread_fence(std::memory_order_acquire);
            ok = b->stamp.load(std::memory_order_relaxed) == frame; // not lapped while copying
            break;
        }
        if (stamp == (frame | kMissedBit))
            break;
        // Not there (yet, or being written): give it up for everyone, so that no other reader
        // can hear it later. Retry if the publisher moved meanwhile.
        if (b->stamp.compare_exchange_strong(stamp, frame | kMissedBit, std::memory_order_acq_rel))
            break;
    }
    if (!ok)
        for (std::uint32_t c = 0; c < g.inputs; ++c)
            std::memset(out[c], 0, sizeof(float) * g.periodFrames);
    return ok;
}

SlotView Segment::slot(std::uint32_t index) const noexcept
{
    const Geometry &g = geometry();
    const Layout l = computeLayout(g);
    SlotView v;
    v.status = reinterpret_cast<SlotStatus *>(base_ + l.slotStatus[index]);
    v.audio = base_ + l.audioRing[index];
    v.events = RecordRing(reinterpret_cast<RingIndices *>(base_ + l.eventIdx[index]),
                          reinterpret_cast<CommandRecord *>(base_ + l.eventRecords[index]), g.eventCapacity);
    v.control = RecordRing(reinterpret_cast<RingIndices *>(base_ + l.controlIdx[index]),
                           reinterpret_cast<CommandRecord *>(base_ + l.controlRecords[index]), g.controlCapacity);
    v.text = TextRing(reinterpret_cast<RingIndices *>(base_ + l.textIdx[index]),
                      reinterpret_cast<char *>(base_ + l.textData[index]), g.textBytes);
    v.snapshot = base_ + l.snapshot[index];
    v.snapshotBytes = g.snapshotBytes;
    v.blockStride = l.blockStride;
    v.ringBlocks = g.ringBlocks;
    v.channels = g.channels;
    v.periodFrames = g.periodFrames;
    return v;
}

} // namespace chronus::shm
