// The render's audio file. It is written under a temporary name in the same directory
// and renamed into place by commit(), so a render that fails or is interrupted leaves no
// partial file and does not clobber an older file of that name. A path that is not a
// regular file (/dev/null, a FIFO) is written directly.
#pragma once

#include "common/expected.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

typedef struct sf_private_tag SNDFILE;

namespace chronus::render {

struct OutputFormat {
    int sampleRate = 48000;
    int channels = 2;
    int sndfileFormat = 0; // SF_FORMAT_* container | subtype
};

class OutputFile {
public:
    // Creates the (temporary) file. Errors: "cannot write 'out.wav': Permission denied".
    static Expected<std::unique_ptr<OutputFile>> open(const std::string &path, const OutputFormat &format);
    // Removes the temporary file unless commit() succeeded.
    ~OutputFile();

    // Appends `frames` frames from planar buffers, one per channel.
    Expected<void> write(const float *const *planes, std::uint32_t frames);
    // Finishes the file and renames it to the path given to open().
    Expected<void> commit();

private:
    OutputFile() = default;
    std::string path_;      // where the file ends up
    std::string writePath_; // where it is written (a temporary name, or path_)
    SNDFILE *file_ = nullptr;
    int channels_ = 0;
    bool committed_ = false;
    std::vector<float> interleaved_;
};

} // namespace chronus::render
