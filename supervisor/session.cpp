#include "supervisor/session.hpp"

#include "common/log.hpp"
#include "model/patch.hpp"
#include "common/service_notify.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fcntl.h>
#include <unistd.h>

namespace chronus::supervisor {

namespace {

// Workers append "-worker-N"; JACK names stop at 63 bytes. Same limit as --jack-name.
constexpr std::size_t kMaxClientId = 40;

bool usableInstanceName(const std::string &name)
{
    return !name.empty() && name.size() <= 40 && name.find_first_of("/ \t:") == std::string::npos;
}

// Prepares the session's directory and reads its patch; the answer to /nsm/client/open.
Expected<void> openSession(const NsmClient::Session &s, Options &options)
{
    if (s.clientId.empty() || s.clientId.size() > kMaxClientId)
        return fail("client id '" + s.clientId + "' cannot be a JACK client name (1 to 40 characters)");
    std::error_code ec;
    std::filesystem::create_directories(s.path, ec);
    if (ec)
        return fail("cannot create " + s.path + ": " + ec.message());
    const std::string patchFile = sessionPatchFile(s.path);
    if (std::filesystem::exists(patchFile)) {
        std::ifstream in(patchFile);
        std::ostringstream text;
        text << in.rdbuf();
        if (!in)
            return fail("cannot read " + patchFile);
        // A broken patch is reported to the session manager now, not as a crash later.
        if (auto spec = model::PatchSpec::fromJson(text.str()); !spec)
            return fail(patchFile + ": " + spec.error());
        options.patchPath = patchFile;
        options.patchText = text.str();
    }
    options.jackName = s.clientId;
    options.patchDir = s.path;
    if (!options.instanceGiven && usableInstanceName(s.clientId))
        options.instance = s.clientId;
    return {};
}

} // namespace

std::string sessionPatchFile(const std::string &sessionPath) { return sessionPath + "/patch.json"; }

Expected<std::unique_ptr<NsmClient>> joinSession(Options &options, const char *argv0, const std::atomic<bool> &quit)
{
    auto client = joinNsmSession({"Chronus", "chronus-supervisor", argv0, std::chrono::seconds(options.nsmOpenSeconds)},
                                 [&options](const NsmClient::Session &s) { return openSession(s, options); }, quit);
    if (client && *client && (*client)->session())
        log::info("NSM: session '", (*client)->session()->displayName, "' opened: JACK client '", options.jackName,
                  "', patches in ", options.patchDir,
                  options.patchPath.empty() ? std::string(", no saved patch") : ", loading " + options.patchPath);
    return client;
}

Expected<void> writeFileAtomically(const std::string &path, const std::string &text)
{
    const std::string tmp = path + ".tmp";
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return fail("cannot write " + tmp + ": " + std::strerror(errno));
    std::size_t done = 0;
    while (done < text.size()) {
        const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            const int err = errno;
            ::close(fd);
            ::unlink(tmp.c_str());
            return fail("cannot write " + tmp + ": " + std::strerror(err));
        }
        done += std::size_t(n);
    }
    // The data reaches the disk before the name does: after a power cut the file is old or new.
    const bool synced = ::fsync(fd) == 0;
    const int syncErr = errno;
    if (::close(fd) != 0 || !synced) {
        const int err = synced ? errno : syncErr;
        ::unlink(tmp.c_str());
        return fail("cannot write " + tmp + ": " + std::strerror(err));
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        const int err = errno;
        ::unlink(tmp.c_str());
        return fail("cannot rename " + tmp + " to " + path + ": " + std::strerror(err));
    }
    return {};
}

} // namespace chronus::supervisor
