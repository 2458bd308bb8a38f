// The recorder's OSC surface: decodes /record/* and /ping on the control thread, drives
// Capture and DiskWriter, and answers the sender (/done <address> ..., /fail <address> <why>).
#pragma once

#include "recorder/capture.hpp"
#include "recorder/disk_writer.hpp"
#include "common/osc.hpp"

#include <string>

namespace chronus::rec {

struct RecorderSurfaceConfig {
    double prerollSeconds = 0;
    double maxSeconds = 0;
    double ringSeconds = 8;
    std::string dir;
};

class RecorderSurface {
public:
    RecorderSurface(Capture &capture, DiskWriter &writer, RecorderSurfaceConfig config);
    // Sets the server used for replies (the server's handler calls handle()).
    void attach(osc::Server &server) { server_ = &server; }
    // Handles one message; replies before returning. Control thread.
    void handle(const osc::Message &msg);
    // Periodic work: follow new source ports, announce takes that ended by themselves.
    void tick();
    // Ends a take in progress (shutdown) and tells its starter (/done /record/stop);
    // `drainAll` when no more frames will come.
    void finish(bool drainAll);
    bool recording() const;

private:
    void start(const osc::Message &msg);
    void stop(const osc::Message &msg);
    void split(const osc::Message &msg);
    void preroll(const osc::Message &msg);
    void status(const osc::Message &msg);
    void updateFeeding();
    // Hands the inputs' bound ports to the disk writer (for the sidecar) when they changed.
    void shareBindings();

    Capture &capture_;
    DiskWriter &writer_;
    RecorderSurfaceConfig config_;
    osc::Server *server_ = nullptr;
    std::string starterUrl_; // UDP sender of the current take, for asynchronous news
    std::uint64_t sharedBindingVersion_ = UINT64_MAX;
};

} // namespace chronus::rec
