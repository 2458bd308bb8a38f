#include "recorder/naming.hpp"

#include "common/log.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

namespace fs = std::filesystem;

namespace chronus::rec {

namespace {
bool isInside(const fs::path &base, const fs::path &p)
{
    auto b = base.begin(), e = base.end();
    auto i = p.begin();
    for (; b != e; ++b, ++i) {
        if (b->empty()) // trailing separator
            continue;
        if (i == p.end() || *i != *b)
            return false;
    }
    return true;
}
} // namespace

Expected<fs::path> resolveInside(const fs::path &dir, const std::string &requested, const std::string &extension)
{
    if (requested.empty())
        return fail("empty file name");
    if (requested.find('\0') != std::string::npos)
        return fail("file name contains a NUL byte");
    std::error_code ec;
    const fs::path base = fs::weakly_canonical(fs::absolute(dir, ec), ec);
    fs::path req(requested);
    fs::path joined = req.is_absolute() ? req : base / req;
    joined = joined.lexically_normal();
    if (!isInside(base, joined) || joined == base)
        return fail(log::cat("'", requested, "' is outside the recordings directory ", base.string()));
    // "." and "sub/.." normalize to a directory ("base/"): no file name to add ".wav" to.
    if (joined.filename().empty() || joined.filename() == "." || joined.filename() == "..")
        return fail(log::cat("'", requested, "' does not name a file"));
    if (!joined.has_extension())
        joined += extension;
    fs::create_directories(joined.parent_path(), ec);
    if (ec)
        return fail(log::cat("cannot create directory ", joined.parent_path().string(), ": ", ec.message()));
    // Symlinked subdirectories may still lead out: check where the parent really is.
    const fs::path realParent = fs::weakly_canonical(joined.parent_path(), ec);
    if (ec || !isInside(base, realParent))
        return fail(log::cat("'", requested, "' leads outside the recordings directory through a link"));
    return realParent / joined.filename();
}

std::string defaultName(std::time_t when, const std::string &extension)
{
    std::tm tm{};
    localtime_r(&when, &tm);
    char buf[64];
    std::strftime(buf, sizeof buf, "chronus_%Y%m%d_%H%M%S", &tm);
    return buf + extension;
}

Expected<CreatedFile> createUnique(const fs::path &wanted, int part)
{
    for (int n = 0; n < 10000; ++n) {
        fs::path base = wanted;
        if (n > 0)
            base = wanted.parent_path() / (wanted.stem().string() + "-" + std::to_string(n) + wanted.extension().string());
        const fs::path p = part > 0 ? partName(base, part) : base;
        // O_EXCL makes "never overwrite" atomic, even against another recorder.
        const int fd = ::open(p.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd >= 0)
            return CreatedFile{fd, p, base};
        if (errno != EEXIST)
            return fail(log::cat("cannot create ", p.string(), ": ", std::strerror(errno)));
    }
    return fail("no free name near " + wanted.string());
}

fs::path partName(const fs::path &first, int index)
{
    char suffix[16];
    std::snprintf(suffix, sizeof suffix, "_%04d", index);
    return first.parent_path() / (first.stem().string() + suffix + first.extension().string());
}

} // namespace chronus::rec
