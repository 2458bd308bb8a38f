#include "recorder/audio_file.hpp"

#include "common/log.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <sys/stat.h>
#include <unistd.h>

namespace chronus::rec {

Expected<Container> parseContainer(const std::string &name)
{
    if (name == "wav") return Container::Wav;
    if (name == "rf64") return Container::Rf64;
    if (name == "w64") return Container::W64;
    if (name == "flac") return Container::Flac;
    if (name == "ogg") return Container::Ogg;
    return fail("unknown format '" + name + "' (wav, rf64, w64, flac, ogg)");
}

Expected<SampleFormat> parseSampleFormat(const std::string &name)
{
    if (name == "float") return SampleFormat::Float;
    if (name == "16") return SampleFormat::Pcm16;
    if (name == "24") return SampleFormat::Pcm24;
    if (name == "32") return SampleFormat::Pcm32;
    return fail("unknown sample format '" + name + "' (float, 16, 24, 32)");
}

std::string extensionOf(Container c)
{
    switch (c) {
    case Container::Wav: return ".wav";
    case Container::Rf64: return ".wav";
    case Container::W64: return ".w64";
    case Container::Flac: return ".flac";
    case Container::Ogg: return ".ogg";
    }
    return ".wav";
}

std::string nameOf(Container c)
{
    switch (c) {
    case Container::Wav: return "wav";
    case Container::Rf64: return "rf64";
    case Container::W64: return "w64";
    case Container::Flac: return "flac";
    case Container::Ogg: return "ogg";
    }
    return "wav";
}

namespace {
std::size_t sampleBytes(SampleFormat s)
{
    switch (s) {
    case SampleFormat::Pcm16: return 2;
    case SampleFormat::Pcm24: return 3;
    default: return 4;
    }
}

int sndfileFormat(const FileFormat &f, std::string &note)
{
    int major = SF_FORMAT_WAV;
    switch (f.container) {
    case Container::Wav: major = SF_FORMAT_WAV; break;
    case Container::Rf64: major = SF_FORMAT_RF64; break;
    case Container::W64: major = SF_FORMAT_W64; break;
    case Container::Flac: major = SF_FORMAT_FLAC; break;
    case Container::Ogg: return SF_FORMAT_OGG | SF_FORMAT_VORBIS;
    }
    int minor = SF_FORMAT_FLOAT;
    switch (f.sample) {
    case SampleFormat::Float: minor = SF_FORMAT_FLOAT; break;
    case SampleFormat::Pcm16: minor = SF_FORMAT_PCM_16; break;
    case SampleFormat::Pcm24: minor = SF_FORMAT_PCM_24; break;
    case SampleFormat::Pcm32: minor = SF_FORMAT_PCM_32; break;
    }
    if (f.container == Container::Flac && (minor == SF_FORMAT_FLOAT || minor == SF_FORMAT_PCM_32)) {
        note = "FLAC holds at most 24-bit PCM; writing 24-bit";
        minor = SF_FORMAT_PCM_24;
    }
    return major | minor;
}

sf_count_t vioLength(void *u) { return static_cast<Sink *>(u)->length(); }
sf_count_t vioSeek(sf_count_t o, int w, void *u) { return static_cast<Sink *>(u)->seek(o, w); }
sf_count_t vioRead(void *p, sf_count_t n, void *u) { return static_cast<Sink *>(u)->read(p, n); }
sf_count_t vioWrite(const void *p, sf_count_t n, void *u) { return static_cast<Sink *>(u)->write(p, n); }
sf_count_t vioTell(void *u) { return static_cast<Sink *>(u)->tell(); }
SF_VIRTUAL_IO vio{vioLength, vioSeek, vioRead, vioWrite, vioTell};
} // namespace

std::size_t bytesPerFrame(const FileFormat &f, std::size_t channels)
{
    if (f.container == Container::Flac || f.container == Container::Ogg)
        return 0;
    return sampleBytes(f.sample) * channels;
}

std::size_t uncompressedBytesPerFrame(const FileFormat &f, std::size_t channels)
{
    if (f.container == Container::Flac) // FLAC holds 16 or 24-bit PCM (see sndfileFormat)
        return (f.sample == SampleFormat::Pcm16 ? 2 : 3) * channels;
    return sampleBytes(f.sample) * channels;
}

std::uint64_t maxFramesPerFile(const FileFormat &f, std::size_t channels)
{
    if (f.container != Container::Wav)
        return UINT64_MAX;
    // RIFF sizes are 32-bit: stop 1 MiB short of 4 GiB to leave room for the header.
    return ((std::uint64_t(1) << 32) - (std::uint64_t(1) << 20)) / bytesPerFrame(f, channels);
}

// --- FileSink ----------------------------------------------------------------------------

FileSink::FileSink(int fd) : fd_(fd) { buf_.reserve(std::size_t(1) << 20); }

FileSink::~FileSink()
{
    flush();
    if (fd_ >= 0)
        ::close(fd_);
}

bool FileSink::writeAt(const char *p, sf_count_t bytes, sf_count_t offset)
{
    sf_count_t done = 0;
    while (done < bytes) {
        const ssize_t r = ::pwrite(fd_, p + done, std::size_t(bytes - done), offset + done);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            errno_ = errno; // ENOSPC, EFBIG (file-size limit), EIO...
            return false;
        }
        if (r == 0) {
            errno_ = ENOSPC;
            return false;
        }
        done += r;
    }
    return true;
}

bool FileSink::flush()
{
    if (buf_.empty())
        return errno_ == 0;
    const bool ok = errno_ == 0 && writeAt(buf_.data(), sf_count_t(buf_.size()), bufStart_);
    buf_.clear();
    return ok;
}

sf_count_t FileSink::length()
{
    flush();
    struct stat st{};
    return fstat(fd_, &st) == 0 ? st.st_size : -1;
}

sf_count_t FileSink::seek(sf_count_t offset, int whence)
{
    flush();
    const sf_count_t r = lseek(fd_, offset, whence);
    if (r >= 0)
        pos_ = r;
    return r;
}

sf_count_t FileSink::read(void *data, sf_count_t bytes)
{
    flush();
    const ssize_t r = ::pread(fd_, data, std::size_t(bytes), pos_);
    if (r <= 0)
        return 0;
    pos_ += r;
    return r;
}

sf_count_t FileSink::write(const void *data, sf_count_t bytes)
{
    if (errno_ != 0)
        return 0;
    const auto *p = static_cast<const char *>(data);
    if (!buf_.empty() && bufStart_ + sf_count_t(buf_.size()) != pos_ && !flush())
        return 0;
    if (buf_.empty())
        bufStart_ = pos_;
    // Large pieces go straight to the kernel; small ones (headers, libsndfile's 8 KiB
    // conversion chunks) are gathered.
    if (buf_.size() + std::size_t(bytes) > buf_.capacity() || std::size_t(bytes) >= buf_.capacity() / 64) {
        if (!flush())
            return 0;
        bufStart_ = pos_;
        if (std::size_t(bytes) >= buf_.capacity() / 64) {
            if (!writeAt(p, bytes, pos_))
                return 0;
            pos_ += bytes;
            return bytes;
        }
    }
    buf_.insert(buf_.end(), p, p + bytes);
    pos_ += bytes;
    return bytes;
}

sf_count_t FileSink::tell() { return pos_; }

// --- AudioFile -----------------------------------------------------------------------------

Expected<std::unique_ptr<AudioFile>> AudioFile::create(std::unique_ptr<Sink> sink, std::filesystem::path path,
                                                       const FileFormat &format, std::size_t channels,
                                                       std::uint32_t rate)
{
    std::unique_ptr<AudioFile> f(new AudioFile());
    std::string note;
    SF_INFO info{};
    info.samplerate = int(rate);
    info.channels = int(channels);
    info.format = sndfileFormat(format, note);
    if (!note.empty())
        log::info(note);
    if (!sf_format_check(&info))
        return fail(log::cat(nameOf(format.container), " cannot hold ", channels, " channels in this sample format (libsndfile",
                             format.container == Container::Flac ? " allows at most 8 for FLAC" : "", ")"));
    // libsndfile accepts more, but its Vorbis encoder then writes nothing.
    if (format.container == Container::Ogg && channels > kMaxOggChannels)
        return fail(log::cat("ogg cannot hold ", channels, " channels (Vorbis allows at most ", kMaxOggChannels, ")"));
    f->sink_ = std::move(sink);
    f->sf_ = sf_open_virtual(&vio, SFM_WRITE, &info, f->sink_.get());
    if (!f->sf_)
        return fail(log::cat("cannot open ", path.string(), " for writing: ", sf_strerror(nullptr)));
    if (format.container == Container::Rf64) // plain WAV while small
        sf_command(f->sf_, SFC_RF64_AUTO_DOWNGRADE, nullptr, SF_TRUE);
    f->path_ = std::move(path);
    f->channels_ = channels;
    f->bytesPerFrame_ = bytesPerFrame(format, channels);
    f->zeros_.assign(channels * 4096, 0.0f);
    // Raw float writes bypass libsndfile's peak tracking, so its PEAK chunk would say every
    // channel peaks at 0: WAV drops the chunk (no chunk is better than a wrong one); RF64
    // cannot, so it goes through sf_writef_float, which keeps the chunk right.
    f->rawFloat_ = __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ && format.sample == SampleFormat::Float &&
                   (format.container == Container::Wav || format.container == Container::W64);
    if (f->rawFloat_ && format.container == Container::Wav)
        sf_command(f->sf_, SFC_SET_ADD_PEAK_CHUNK, nullptr, SF_FALSE);
    f->broadcast_ = format.container == Container::Wav || format.container == Container::Rf64;
    switch (info.format & SF_FORMAT_SUBMASK) {
    case SF_FORMAT_PCM_16: f->pcmBits_ = 16; break;
    case SF_FORMAT_PCM_24: f->pcmBits_ = 24; break;
    case SF_FORMAT_PCM_32: f->pcmBits_ = 32; break;
    default: break;
    }
    if (f->pcmBits_)
        f->ints_.resize(channels * 4096);
    return f;
}

AudioFile::~AudioFile() { close(); }

bool AudioFile::write(const float *interleaved, std::size_t frames)
{
    if (failed() || !sf_)
        return false;
    // Float into a little-endian float container is a byte copy: skip libsndfile's
    // conversion loop and hand it the ring's bytes as they are.
    if (pcmBits_)
        return writePcm(interleaved, frames);
    const sf_count_t n = rawFloat_ ? sf_write_raw(sf_, interleaved, sf_count_t(frames * channels_ * sizeof(float))) /
                                         sf_count_t(channels_ * sizeof(float))
                                   : sf_writef_float(sf_, interleaved, sf_count_t(frames));
    return account(n, frames);
}

bool AudioFile::writePcm(const float *interleaved, std::size_t frames)
{
    // libsndfile scales float to PCM by 2^(N-1) - 1 but back by 2^(N-1), so a sample on the
    // N-bit grid would not read back as itself. Scale by 2^(N-1) (clipping +1.0 to the
    // largest code) and hand libsndfile ints, whose conversion to N bits is an exact shift.
    const double scale = std::ldexp(1.0, pcmBits_ - 1);
    const double hi = scale - 1, lo = -scale;
    const int shift = 32 - pcmBits_;
    const std::size_t chunk = ints_.size() / channels_;
    while (frames > 0) {
        const std::size_t n = std::min(frames, chunk);
        for (std::size_t i = 0; i < n * channels_; ++i) {
            double v = std::nearbyint(double(interleaved[i]) * scale);
            v = std::isnan(v) ? 0.0 : std::clamp(v, lo, hi);
            ints_[i] = int(std::uint32_t(std::int32_t(v)) << shift);
        }
        if (!account(sf_writef_int(sf_, ints_.data(), sf_count_t(n)), n))
            return false;
        interleaved += n * channels_;
        frames -= n;
    }
    return true;
}

std::uint64_t AudioFile::overheadBytes() const
{
    const std::uint64_t written = bytesWritten();
    const std::uint64_t data = frames_ * bytesPerFrame_;
    return written > data ? written - data : 0;
}

bool AudioFile::account(sf_count_t n, std::size_t frames)
{
    if (n > 0)
        frames_ += std::uint64_t(n);
    if (n != sf_count_t(frames) || sink_->lastErrno() != 0) {
        const int e = sink_->lastErrno();
        error_ = e ? std::strerror(e) : sf_strerror(sf_);
        if (error_.empty())
            error_ = "short write";
        return false;
    }
    return true;
}

bool AudioFile::writeSilence(std::size_t frames)
{
    while (frames > 0) {
        const std::size_t n = std::min<std::size_t>(frames, 4096);
        if (!write(zeros_.data(), n))
            return false;
        frames -= n;
    }
    return true;
}

bool AudioFile::stampBroadcast(std::int64_t wallClockMicros, std::uint32_t rate, const std::string &description)
{
    if (!broadcast_ || !sf_ || frames_ > 0)
        return !broadcast_;
    SF_BROADCAST_INFO bext{};
    const std::time_t secs = std::time_t(wallClockMicros / 1000000);
    std::tm tm{};
    localtime_r(&secs, &tm);
    std::snprintf(bext.description, sizeof bext.description, "%s", description.c_str());
    std::snprintf(bext.originator, sizeof bext.originator, "chronus-recorder");
    char date[16], time[16];
    std::strftime(date, sizeof date, "%Y-%m-%d", &tm);
    std::strftime(time, sizeof time, "%H:%M:%S", &tm);
    std::memcpy(bext.origination_date, date, sizeof bext.origination_date);
    std::memcpy(bext.origination_time, time, sizeof bext.origination_time);
    const std::int64_t sinceMidnightUs =
        std::int64_t(tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec) * 1000000 + wallClockMicros % 1000000;
    const std::uint64_t ref = std::uint64_t(sinceMidnightUs) * rate / 1000000;
    bext.time_reference_low = std::uint32_t(ref & 0xffffffffu);
    bext.time_reference_high = std::uint32_t(ref >> 32);
    bext.version = 1;
    return sf_command(sf_, SFC_SET_BROADCAST_INFO, &bext, sizeof bext) == SF_TRUE;
}

void AudioFile::refreshHeader()
{
    if (sf_ && !failed())
        sf_command(sf_, SFC_UPDATE_HEADER_NOW, nullptr, 0);
}

void AudioFile::close()
{
    if (sf_) {
        sf_close(sf_); // rewrites the header from the real file length
        sf_ = nullptr;
    }
    sink_.reset();
}

} // namespace chronus::rec
