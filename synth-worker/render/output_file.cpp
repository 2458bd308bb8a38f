#include "synth-worker/render/output_file.hpp"

#include <sndfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

namespace chronus::render {

namespace fs = std::filesystem;

Expected<std::unique_ptr<OutputFile>> OutputFile::open(const std::string &path, const OutputFormat &format)
{
    std::unique_ptr<OutputFile> out(new OutputFile);
    out->path_ = path;
    out->channels_ = format.channels;
    SF_INFO info{};
    info.samplerate = format.sampleRate;
    info.channels = format.channels;
    info.format = format.sndfileFormat;
    auto cannot = [&](const std::string &reason) { return fail("cannot write '" + path + "': " + reason); };

    std::error_code ec;
    // Through a symbolic link: replace the file it points to, not the link.
    // (It may not exist yet, so follow the links by hand rather than with canonical().)
    fs::path target = path;
    for (int hops = 0; hops < 40 && fs::is_symlink(target, ec); ++hops) {
        const fs::path next = fs::read_symlink(target, ec);
        if (ec)
            break;
        target = next.is_absolute() ? next : target.parent_path() / next;
    }
    const auto status = fs::status(target, ec);
    if (fs::exists(status) && !fs::is_regular_file(status)) {
        // A device or a FIFO: there is nothing to rename.
        out->writePath_ = path;
        out->file_ = sf_open(path.c_str(), SFM_WRITE, &info);
        if (!out->file_)
            return cannot(sf_strerror(nullptr));
    } else {
        out->path_ = target.string();
        const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
        std::string name = (dir / ("." + target.filename().string() + ".XXXXXX")).string();
        const int fd = ::mkstemp(name.data());
        if (fd < 0)
            return cannot(std::strerror(errno));
        out->writePath_ = name;
        // mkstemp makes the file private; give it the mode a plain create would have.
        const mode_t mask = ::umask(0);
        ::umask(mask);
        ::fchmod(fd, 0666 & ~mask);
        out->file_ = sf_open_fd(fd, SFM_WRITE, &info, SF_TRUE);
        if (!out->file_) {
            const std::string reason = sf_strerror(nullptr);
            ::close(fd);
            return cannot(reason);
        }
    }
    // No PEAK chunk: it holds the time of writing, and the same render must give the same bytes.
    sf_command(out->file_, SFC_SET_ADD_PEAK_CHUNK, nullptr, SF_FALSE);
    if ((format.sndfileFormat & SF_FORMAT_SUBMASK) != SF_FORMAT_FLOAT)
        sf_command(out->file_, SFC_SET_CLIPPING, nullptr, SF_TRUE);
    return out;
}

OutputFile::~OutputFile()
{
    if (file_)
        sf_close(file_);
    if (!committed_ && writePath_ != path_)
        ::unlink(writePath_.c_str());
}

Expected<void> OutputFile::write(const float *const *planes, std::uint32_t frames)
{
    const auto channels = static_cast<std::size_t>(channels_);
    interleaved_.resize(std::size_t(frames) * channels);
    for (std::uint32_t i = 0; i < frames; ++i)
        for (std::size_t c = 0; c < channels; ++c)
            interleaved_[i * channels + c] = planes[c][i];
    if (sf_writef_float(file_, interleaved_.data(), frames) != frames)
        return fail("cannot write '" + path_ + "': " + sf_strerror(file_));
    return {};
}

Expected<void> OutputFile::commit()
{
    const int closed = sf_close(file_);
    file_ = nullptr;
    if (closed != 0)
        return fail("cannot write '" + path_ + "': " + sf_error_number(closed));
    if (writePath_ != path_ && std::rename(writePath_.c_str(), path_.c_str()) != 0)
        return fail("cannot rename the finished render to '" + path_ + "': " + std::strerror(errno));
    committed_ = true;
    return {};
}

} // namespace chronus::render
