// One output file: formats, the byte sink under libsndfile (the injection point for tests:
// slow disks, full disks, sparse large files) and the file itself with header refresh.
#pragma once

#include "common/expected.hpp"

#include <sndfile.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace chronus::rec {

enum class Container { Wav, Rf64, W64, Flac, Ogg };
enum class SampleFormat { Float, Pcm16, Pcm24, Pcm32 };

struct FileFormat {
    Container container = Container::Wav;
    SampleFormat sample = SampleFormat::Float;
};

// "wav" | "rf64" | "w64" | "flac" | "ogg"; error names the accepted values.
Expected<Container> parseContainer(const std::string &name);
// "float" | "16" | "24" | "32".
Expected<SampleFormat> parseSampleFormat(const std::string &name);
std::string extensionOf(Container container);
std::string nameOf(Container container);
// Bytes per frame on disk for uncompressed formats (0 for FLAC/Ogg).
std::size_t bytesPerFrame(const FileFormat &format, std::size_t channels);
// Bytes per frame of the samples as written, before any compression (FLAC: 16 or 24-bit
// PCM; Ogg: the sample format): an upper bound for FLAC and Ogg, exact for the others.
std::size_t uncompressedBytesPerFrame(const FileFormat &format, std::size_t channels);
// Vorbis's channel limit (libsndfile's format check does not enforce it).
inline constexpr std::size_t kMaxOggChannels = 255;
// Largest frame count a file of this format may hold before it must rotate (plain WAV
// stops short of 4 GiB; others unlimited).
std::uint64_t maxFramesPerFile(const FileFormat &format, std::size_t channels);

// Where libsndfile's bytes go. Implementations report errors by short counts and keep
// the errno in lastErrno(). Called from the disk thread only.
class Sink {
public:
    virtual ~Sink() = default;
    virtual sf_count_t length() = 0;
    virtual sf_count_t seek(sf_count_t offset, int whence) = 0;
    virtual sf_count_t read(void *data, sf_count_t bytes) = 0;
    virtual sf_count_t write(const void *data, sf_count_t bytes) = 0;
    virtual sf_count_t tell() = 0;
    virtual int lastErrno() const = 0;
};

// A Sink over a file descriptor it owns (closed on destruction). Sequential writes are
// gathered into 1 MiB before reaching the kernel (libsndfile writes in ~8 KiB pieces);
// any other call flushes first. A failed flush is reported by the next write.
class FileSink : public Sink {
public:
    explicit FileSink(int fd);
    ~FileSink() override;
    sf_count_t length() override;
    sf_count_t seek(sf_count_t offset, int whence) override;
    sf_count_t read(void *data, sf_count_t bytes) override;
    sf_count_t write(const void *data, sf_count_t bytes) override;
    sf_count_t tell() override;
    int lastErrno() const override { return errno_; }
    int fd() const noexcept { return fd_; }

protected:
    // Writes `bytes` at `offset` straight to the descriptor; false (errno_ set) on error.
    virtual bool writeAt(const char *data, sf_count_t bytes, sf_count_t offset);
    bool flush();
    int fd_;
    int errno_ = 0;
    sf_count_t pos_ = 0;
    sf_count_t bufStart_ = 0;
    std::vector<char> buf_;
};

class AudioFile {
public:
    // Opens libsndfile on `sink` for writing. Fails with a sentence (e.g. FLAC channel limit).
    static Expected<std::unique_ptr<AudioFile>> create(std::unique_ptr<Sink> sink, std::filesystem::path path,
                                                       const FileFormat &format, std::size_t channels,
                                                       std::uint32_t rate);
    ~AudioFile();

    // Writes interleaved frames. False on a short write; error() says why. No further
    // writes are attempted after a failure.
    bool write(const float *interleaved, std::size_t frames);
    // Writes silent frames.
    bool writeSilence(std::size_t frames);
    // Stamps the first frame in a BWF `bext` chunk (WAV and RF64; others: true, nothing
    // written): local origination date and time, and TimeReference = frames since local
    // midnight at `rate`. Only before the first frame is written.
    bool stampBroadcast(std::int64_t wallClockMicros, std::uint32_t rate, const std::string &description);
    // Rewrites the header for the current length, so a killed process leaves a valid file.
    void refreshHeader();
    // Finalizes the header and closes. Safe after a write failure (header reflects what
    // reached the disk).
    void close();

    const std::filesystem::path &path() const noexcept { return path_; }
    void setPath(std::filesystem::path p) { path_ = std::move(p); }
    std::uint64_t frames() const noexcept { return frames_; }
    std::uint64_t bytes() const noexcept { return frames_ * bytesPerFrame_; }
    // Bytes libsndfile has handed to the sink so far (header and data; for FLAC and Ogg
    // what the encoder has produced).
    std::uint64_t bytesWritten() const { return sink_ ? std::uint64_t(std::max<sf_count_t>(0, sink_->tell())) : 0; }
    // Bytes of the file that are not sample data (header chunks) as it stands; for
    // uncompressed formats. libsndfile may still complete the header at the first write.
    std::uint64_t overheadBytes() const;
    bool failed() const noexcept { return !error_.empty(); }
    const std::string &error() const noexcept { return error_; }

private:
    AudioFile() = default;
    bool writePcm(const float *interleaved, std::size_t frames);
    // Counts `n` of `frames` written; false (error_ set) on a short write or sink error.
    bool account(sf_count_t n, std::size_t frames);
    std::unique_ptr<Sink> sink_;
    SNDFILE *sf_ = nullptr;
    std::filesystem::path path_;
    std::size_t channels_ = 0;
    std::size_t bytesPerFrame_ = 0;
    std::uint64_t frames_ = 0;
    std::string error_;
    std::vector<float> zeros_;
    bool rawFloat_ = false;
    bool broadcast_ = false; // container can hold bext
    int pcmBits_ = 0;        // PCM target: we scale by 2^(bits-1) ourselves (see write())
    std::vector<int> ints_;  // conversion buffer for PCM targets
};

} // namespace chronus::rec
