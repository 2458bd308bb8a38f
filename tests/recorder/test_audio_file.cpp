// AudioFile and its sinks without JACK: RF64 past 4 GiB for several channel counts (real
// sparse files: runs of silence become holes, so 4 GiB cost seconds and no disk), the
// header a killed process would leave past 4 GiB, and FLAC / Ogg round trips.
#include "harness/gtest_support.hpp"
#include "recorder/audio_file.hpp"
#include "tests/recorder/ramp_check.hpp"
#include "tests/recorder/sparse_sink.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

using namespace chronus::rec;
using namespace testing_rec;

namespace {

constexpr std::uint64_t k4GiB = std::uint64_t(1) << 32;

struct TempDir {
    fs::path path;
    TempDir()
    {
        path = chronus::harness::freshTestDir("chronus-audiofile-test");
    }
    ~TempDir() { fs::remove_all(path); } // the sparse files go even when a check failed
};

std::vector<std::uint8_t> readBytes(const fs::path &p, std::size_t n, std::uint64_t offset = 0)
{
    std::vector<std::uint8_t> b(n);
    const int fd = ::open(p.c_str(), O_RDONLY);
    const ssize_t r = fd >= 0 ? ::pread(fd, b.data(), n, off_t(offset)) : -1;
    if (fd >= 0)
        ::close(fd);
    b.resize(r > 0 ? std::size_t(r) : 0);
    return b;
}

std::uint32_t le32(const std::vector<std::uint8_t> &b, std::size_t at)
{
    return std::uint32_t(b[at]) | std::uint32_t(b[at + 1]) << 8 | std::uint32_t(b[at + 2]) << 16 |
           std::uint32_t(b[at + 3]) << 24;
}
std::uint64_t le64(const std::vector<std::uint8_t> &b, std::size_t at)
{
    return std::uint64_t(le32(b, at)) | std::uint64_t(le32(b, at + 4)) << 32;
}
std::string tag(const std::vector<std::uint8_t> &b, std::size_t at) { return std::string(b.begin() + at, b.begin() + at + 4); }

// The chunks of a RIFF/RF64 header: id -> (offset of the chunk's data, 32-bit size field).
struct Chunk {
    std::string id;
    std::size_t dataAt;
    std::uint32_t size;
};
std::vector<Chunk> chunks(const std::vector<std::uint8_t> &b)
{
    std::vector<Chunk> out;
    std::size_t at = 12;
    while (at + 8 <= b.size()) {
        Chunk c{tag(b, at), at + 8, le32(b, at + 4)};
        out.push_back(c);
        if (c.id == "data")
            break;
        at += 8 + c.size + (c.size & 1);
    }
    return out;
}

// What the header says, checked against the real file.
struct HeaderCheck {
    std::string riff;               // "RIFF" or "RF64"
    std::uint64_t riffSize = 0;     // from ds64 for RF64
    std::uint64_t dataSize = 0;     // from ds64 for RF64
    std::uint64_t sampleCount = 0;  // ds64's, RF64 only
    std::uint64_t dataAt = 0;
    std::uint32_t dataSizeField = 0;
    int channels = 0;
};
HeaderCheck readHeader(const fs::path &p)
{
    HeaderCheck h;
    const auto b = readBytes(p, 4096);
    if (b.size() < 64)
        return h;
    h.riff = tag(b, 0);
    h.riffSize = le32(b, 4);
    for (const Chunk &c : chunks(b)) {
        if (c.id == "ds64") {
            h.riffSize = le64(b, c.dataAt);
            h.dataSize = le64(b, c.dataAt + 8);
            h.sampleCount = le64(b, c.dataAt + 16);
        } else if (c.id == "fmt ") {
            h.channels = int(b[c.dataAt + 2] | b[c.dataAt + 3] << 8);
        } else if (c.id == "data") {
            h.dataAt = c.dataAt;
            h.dataSizeField = c.size;
            if (h.riff == "RIFF")
                h.dataSize = c.size;
        }
    }
    return h;
}

std::unique_ptr<AudioFile> createFile(const fs::path &path, const FileFormat &format, std::size_t channels,
                                      bool sparse = false)
{
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    EXPECT_GE(fd, 0) << path;
    std::unique_ptr<Sink> sink = sparse ? std::make_unique<SparseSink>(fd) : std::make_unique<FileSink>(fd);
    auto f = AudioFile::create(std::move(sink), path, format, channels, 48000);
    EXPECT_TRUE(f) << (f ? "" : f.error());
    return f ? std::move(*f) : nullptr;
}

// Interleaved ramp frames [first, first + frames).
std::vector<float> ramp(std::uint64_t first, std::size_t frames, std::size_t channels)
{
    std::vector<float> v(frames * channels);
    for (std::size_t i = 0; i < frames; ++i)
        for (std::size_t c = 0; c < channels; ++c)
            v[i * channels + c] = rampValue(first + i, c);
    return v;
}

sf_count_t framesOf(const fs::path &p)
{
    SF_INFO info{};
    SNDFILE *sf = sf_open(p.c_str(), SFM_READ, &info);
    if (!sf)
        return -1;
    sf_close(sf);
    return info.frames;
}

} // namespace

TEST(AudioFile, Rf64PastFourGibibytesHasExactDs64SizesForEveryChannelCount)
{
    TempDir tmp;
    const std::vector<float> zeros(std::size_t(16) << 20, 0.0f); // 64 MiB of silence
    for (std::size_t channels : {1u, 2u, 3u, 32u, 256u}) {
        SCOPED_TRACE(::testing::Message() << channels << " channels");
        const fs::path path = tmp.path / ("big" + std::to_string(channels) + ".wav");
        const std::size_t bpf = channels * sizeof(float);
        auto f = createFile(path, {Container::Rf64, SampleFormat::Float}, channels, true);
        ASSERT_TRUE(f);
        // Ramp at the start, silence (holes) up to just past 4 GiB, ramp at the end.
        constexpr std::size_t kMark = 1000;
        ASSERT_TRUE(f->write(ramp(0, kMark, channels).data(), kMark));
        const std::uint64_t silentFrames = (k4GiB + 12345 * bpf) / bpf - kMark;
        const std::size_t chunk = zeros.size() / channels;
        for (std::uint64_t left = silentFrames; left > 0;) {
            const std::size_t n = std::size_t(std::min<std::uint64_t>(left, chunk));
            ASSERT_TRUE(f->write(zeros.data(), n)) << f->error();
            left -= n;
        }
        const std::uint64_t tailAt = kMark + silentFrames;
        ASSERT_TRUE(f->write(ramp(tailAt, kMark, channels).data(), kMark));
        const std::uint64_t frames = tailAt + kMark;
        ASSERT_GT(frames * bpf, k4GiB);

        // What SIGKILL would leave now: the refreshed header already describes every frame.
        f->refreshHeader();
        HeaderCheck live = readHeader(path);
        EXPECT_EQ(live.riff, "RF64");
        EXPECT_EQ(live.dataSize, frames * bpf);
        EXPECT_EQ(live.dataAt + live.dataSize, fs::file_size(path));
        EXPECT_EQ(framesOf(path), sf_count_t(frames));

        f->close();
        const std::uint64_t size = fs::file_size(path);
        const HeaderCheck h = readHeader(path);
        EXPECT_EQ(h.riff, "RF64");
        EXPECT_EQ(h.channels, int(channels));
        EXPECT_EQ(h.riffSize, size - 8);
        EXPECT_EQ(h.dataSize, frames * bpf);
        EXPECT_EQ(h.sampleCount, frames);
        EXPECT_EQ(h.dataSizeField, 0xffffffffu); // the 32-bit field defers to ds64
        EXPECT_EQ(h.dataAt + h.dataSize, size);
        EXPECT_EQ(framesOf(path), sf_count_t(frames));
        EXPECT_TRUE(rampMatches(path, 0, 0, kMark));
        EXPECT_TRUE(rampMatches(path, 0, tailAt, kMark));
        fs::remove(path);
    }
}

TEST(AudioFile, Rf64StaysAPlainWavWhileSmall)
{
    TempDir tmp;
    const fs::path path = tmp.path / "small.wav";
    auto f = createFile(path, {Container::Rf64, SampleFormat::Float}, 2);
    ASSERT_TRUE(f);
    ASSERT_TRUE(f->write(ramp(0, 4800, 2).data(), 4800));
    f->close();
    const HeaderCheck h = readHeader(path);
    EXPECT_EQ(h.riff, "RIFF");
    EXPECT_EQ(h.riffSize, fs::file_size(path) - 8);
    EXPECT_EQ(h.dataSize, 4800u * 8);
    EXPECT_TRUE(rampMatches(path, 0, 0, 4800));
}

TEST(AudioFile, PlainWavStopsShortOfFourGibibytesForEveryChannelCount)
{
    for (std::size_t channels : {1u, 2u, 3u, 6u, 32u, 255u, 256u, 1024u})
        for (SampleFormat s : {SampleFormat::Float, SampleFormat::Pcm16, SampleFormat::Pcm24, SampleFormat::Pcm32}) {
            const FileFormat f{Container::Wav, s};
            const std::uint64_t frames = maxFramesPerFile(f, channels);
            const std::uint64_t bytes = frames * bytesPerFrame(f, channels);
            // Header room: the 32-bit RIFF size (file - 8) must still fit with any header.
            EXPECT_LE(bytes + (1u << 20), k4GiB) << channels << " channels";
            EXPECT_GT(bytes + (2u << 20) + bytesPerFrame(f, channels), k4GiB) << channels << " channels";
        }
    EXPECT_EQ(maxFramesPerFile({Container::Rf64, SampleFormat::Float}, 2), UINT64_MAX);
    EXPECT_EQ(maxFramesPerFile({Container::W64, SampleFormat::Float}, 2), UINT64_MAX);
}

TEST(AudioFile, FlacRoundTripIsBitExactForSamplesOnThePcmGrid)
{
    TempDir tmp;
    for (SampleFormat s : {SampleFormat::Pcm16, SampleFormat::Pcm24, SampleFormat::Float}) {
        const fs::path path = tmp.path / ("rt" + std::to_string(int(s)) + ".flac");
        auto f = createFile(path, {Container::Flac, s}, 2);
        ASSERT_TRUE(f);
        // Values on the 16-bit grid (exact in every PCM depth FLAC offers), both channels
        // distinct, the full range including -1.
        constexpr std::size_t kFrames = 48000 + 123;
        std::vector<float> in(kFrames * 2);
        for (std::size_t i = 0; i < kFrames; ++i) {
            in[2 * i] = float(int((i * 7919) % 65536) - 32768) / 32768.0f;
            in[2 * i + 1] = float(int((i * 104729 + 17) % 65536) - 32768) / 32768.0f;
        }
        for (std::size_t done = 0; done < kFrames;) {
            const std::size_t n = std::min<std::size_t>(kFrames - done, 1031);
            ASSERT_TRUE(f->write(in.data() + done * 2, n)) << f->error();
            done += n;
        }
        f->close();
        SF_INFO info{};
        SNDFILE *sf = sf_open(path.c_str(), SFM_READ, &info);
        ASSERT_TRUE(sf) << sf_strerror(nullptr);
        EXPECT_EQ(info.format & SF_FORMAT_TYPEMASK, SF_FORMAT_FLAC);
        EXPECT_EQ(info.channels, 2);
        EXPECT_EQ(info.frames, sf_count_t(kFrames));
        std::vector<float> out(kFrames * 2 + 2);
        EXPECT_EQ(sf_readf_float(sf, out.data(), kFrames + 1), sf_count_t(kFrames));
        sf_close(sf);
        std::size_t wrong = 0;
        for (std::size_t i = 0; i < kFrames * 2; ++i)
            wrong += out[i] != in[i];
        EXPECT_EQ(wrong, 0u) << "sample format " << int(s);
    }
}

TEST(AudioFile, WavRoundTripIsBitExactOverAGridOfChannelsLengthsAndSampleFormats)
{
    TempDir tmp;
    int index = 0;
    for (SampleFormat s : {SampleFormat::Float, SampleFormat::Pcm16, SampleFormat::Pcm24, SampleFormat::Pcm32})
        for (std::size_t channels : {1u, 2u, 3u, 8u})
            for (std::size_t frames : {0u, 1u, 4095u, 4097u, 12289u}) {
                SCOPED_TRACE(::testing::Message() << "format " << int(s) << ", " << channels << " ch, " << frames
                                                  << " frames");
                const fs::path path = tmp.path / ("grid" + std::to_string(index++) + ".wav");
                auto f = createFile(path, {Container::Wav, s}, channels);
                ASSERT_TRUE(f);
                // On the 16-bit grid (exact in every depth), channel c offset so a swap shows;
                // the last frame is +1.0, which PCM clips to its largest code.
                std::vector<float> in(frames * channels);
                for (std::size_t i = 0; i < frames; ++i)
                    for (std::size_t c = 0; c < channels; ++c)
                        in[i * channels + c] = float(int((i * 7919 + c * 4099) % 65536) - 32768) / 32768.0f;
                if (frames > 1)
                    in[(frames - 1) * channels] = 1.0f;
                ASSERT_TRUE(f->write(in.data(), frames)) << f->error();
                f->close();
                SF_INFO info{};
                SNDFILE *sf = sf_open(path.c_str(), SFM_READ, &info);
                ASSERT_TRUE(sf) << sf_strerror(nullptr);
                EXPECT_EQ(info.channels, int(channels));
                EXPECT_EQ(info.frames, sf_count_t(frames));
                std::vector<float> out(frames * channels + channels);
                EXPECT_EQ(sf_readf_float(sf, out.data(), sf_count_t(frames + 1)), sf_count_t(frames));
                sf_close(sf);
                if (frames > 1 && s != SampleFormat::Float) {
                    const int bits = s == SampleFormat::Pcm16 ? 16 : s == SampleFormat::Pcm24 ? 24 : 32;
                    const double largest = 1.0 - std::ldexp(1.0, 1 - bits);
                    EXPECT_EQ(out[(frames - 1) * channels], float(largest));
                    in[(frames - 1) * channels] = out[(frames - 1) * channels];
                }
                std::size_t wrong = 0;
                for (std::size_t i = 0; i < frames * channels; ++i)
                    wrong += out[i] != in[i];
                EXPECT_EQ(wrong, 0u);
            }
}

TEST(AudioFile, OggVorbisRoundTripKeepsLengthChannelsAndSignal)
{
    TempDir tmp;
    const fs::path path = tmp.path / "rt.ogg";
    auto f = createFile(path, {Container::Ogg, SampleFormat::Float}, 2);
    ASSERT_TRUE(f);
    // 440 Hz left, 1000 Hz right at -6 dBFS: the codec may change the samples, not which
    // channel holds which tone, nor the length.
    constexpr std::size_t kFrames = 2 * 48000 + 77;
    std::vector<float> in(kFrames * 2);
    for (std::size_t i = 0; i < kFrames; ++i) {
        in[2 * i] = 0.5f * float(std::sin(2 * M_PI * 440.0 * double(i) / 48000.0));
        in[2 * i + 1] = 0.5f * float(std::sin(2 * M_PI * 1000.0 * double(i) / 48000.0));
    }
    ASSERT_TRUE(f->write(in.data(), kFrames)) << f->error();
    f->close();
    SF_INFO info{};
    SNDFILE *sf = sf_open(path.c_str(), SFM_READ, &info);
    ASSERT_TRUE(sf) << sf_strerror(nullptr);
    EXPECT_EQ(info.format & SF_FORMAT_TYPEMASK, SF_FORMAT_OGG);
    EXPECT_EQ(info.channels, 2);
    EXPECT_EQ(info.frames, sf_count_t(kFrames));
    std::vector<float> out(kFrames * 2);
    ASSERT_EQ(sf_readf_float(sf, out.data(), kFrames), sf_count_t(kFrames));
    sf_close(sf);
    // Error energy against the input, per channel, away from the codec's start-up.
    for (int c = 0; c < 2; ++c) {
        double err = 0, sig = 0, swapped = 0;
        for (std::size_t i = 4800; i < kFrames - 4800; ++i) {
            const double x = in[2 * i + c], y = out[2 * i + c], other = in[2 * i + 1 - c];
            err += (y - x) * (y - x);
            swapped += (y - other) * (y - other);
            sig += x * x;
        }
        const double snrDb = 10 * std::log10(sig / err);
        EXPECT_GT(snrDb, 20.0) << "channel " << c;
        EXPECT_GT(swapped, 100 * err) << "channel " << c;
    }
}

TEST(AudioFile, FormatsThatCannotHoldTheChannelCountFailWithAReason)
{
    TempDir tmp;
    const int fd = ::open((tmp.path / "x.flac").c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    ASSERT_GE(fd, 0);
    auto f = AudioFile::create(std::make_unique<FileSink>(fd), tmp.path / "x.flac", {Container::Flac, SampleFormat::Pcm24},
                               32, 48000);
    ASSERT_FALSE(f);
    EXPECT_NE(f.error().find("32 channels"), std::string::npos) << f.error();
    // Vorbis holds 255 channels; libsndfile's format check lets 256 through and then its
    // encoder writes nothing, so the limit is ours to enforce.
    const int fd2 = ::open((tmp.path / "x.ogg").c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    ASSERT_GE(fd2, 0);
    auto ogg = AudioFile::create(std::make_unique<FileSink>(fd2), tmp.path / "x.ogg", {Container::Ogg, SampleFormat::Float},
                                 256, 48000);
    ASSERT_FALSE(ogg);
    EXPECT_NE(ogg.error().find("256 channels"), std::string::npos) << ogg.error();
    EXPECT_NE(ogg.error().find("at most 255"), std::string::npos) << ogg.error();
    auto ogg255 = createFile(tmp.path / "y.ogg", {Container::Ogg, SampleFormat::Float}, 255);
    ASSERT_TRUE(ogg255);
    const std::vector<float> frames(255 * 64, 0.25f);
    EXPECT_TRUE(ogg255->write(frames.data(), 64)) << ogg255->error();
}

TEST(AudioFile, FloatWavHasNoPeakChunkClaimingSilence)
{
    // Float frames go to WAV as raw bytes, past libsndfile's peak tracking: a PEAK chunk
    // would say 0 for every channel. Readers must find the real peak, or none.
    TempDir tmp;
    for (Container c : {Container::Wav, Container::Rf64, Container::W64}) {
        SCOPED_TRACE(nameOf(c));
        const fs::path path = tmp.path / ("peak" + extensionOf(c) + nameOf(c));
        auto f = createFile(path, {c, SampleFormat::Float}, 2);
        ASSERT_TRUE(f);
        std::vector<float> frames(2 * 1000, 0.5f);
        frames[2 * 500 + 1] = -0.75f;
        ASSERT_TRUE(f->write(frames.data(), 1000));
        f->close();
        SF_INFO info{};
        SNDFILE *sf = sf_open(path.c_str(), SFM_READ, &info);
        ASSERT_TRUE(sf);
        double peaks[2] = {-1, -1};
        const bool chunk = sf_command(sf, SFC_GET_MAX_ALL_CHANNELS, peaks, sizeof peaks) == SF_TRUE;
        sf_close(sf);
        if (chunk) {
            EXPECT_EQ(peaks[0], 0.5);
            EXPECT_EQ(peaks[1], 0.75);
        }
    }
}
