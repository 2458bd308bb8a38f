// OSC for control threads: a server listening on UDP and TCP on one port number, polled
// from the caller's own loop, and a small client for tools and tests. Built on liblo 0.31
// with its bundle queue off (bundles are delivered at once, timetag attached), so the
// caller maps timetags to JACK frames itself. Never use any of this on the audio thread.
#pragma once

#include "common/expected.hpp"

#include <cstdint>

#include <sys/socket.h>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace chronus::osc {

enum class Protocol { Udp, Tcp };

// One decoded argument. N/I (nil, infinitum) decode to monostate; T/F to bool; c to int32;
// b to Blob; h and t to int64.
using Blob = std::vector<std::uint8_t>;
using Arg = std::variant<std::monostate, std::int32_t, float, std::string, double, std::int64_t, bool, Blob>;

// A received message. `sender` is liblo's handle for the source: valid only while the
// handler that received this message runs, so reply before returning.
struct Message {
    std::string address;
    std::string types;            // OSC typetag string without the leading ','
    std::vector<Arg> args;
    Protocol protocol = Protocol::Udp;
    std::string senderUrl;        // e.g. "osc.udp://127.0.0.1:41234/"
    std::optional<std::uint64_t> timetag; // NTP 32.32 of the enclosing bundle; none if immediate
    void *sender = nullptr;       // lo_address, dispatch-time only

    // Typed access; nullopt when the argument is missing or of another type.
    std::optional<std::string> stringAt(std::size_t i) const;
    std::optional<std::int64_t> intAt(std::size_t i) const;   // i, h, c
    std::optional<double> numberAt(std::size_t i) const;      // i, h, f, d
};

using Handler = std::function<void(const Message &)>;

// Largest message a Server takes over TCP (UDP: one datagram, at most 64 KiB).
inline constexpr int kMaxTcpMessageBytes = 4 << 20;

// Which senders a Server listens to: IPv4 networks ("127.0.0.0/8", "10.1.2.3"); IPv6
// loopback counts as 127.0.0.1, other IPv6 senders are never allowed.
class AllowList {
public:
    // Parses "CIDR[,CIDR...]"; errors name the bad entry.
    static Expected<AllowList> parse(std::string_view text);
    // Loopback only (127.0.0.0/8).
    static AllowList loopback();
    bool allows(const char *host) const noexcept;
    const std::string &text() const noexcept { return text_; }

private:
    std::vector<std::pair<std::uint32_t, std::uint32_t>> nets_; // address, mask (host order)
    std::string text_;
};

// Server on UDP and TCP port `port` (0: any free port, same number for both).
// `localOnly` drops messages whose sender is not on the loopback interface (liblo 0.31
// cannot bind one address, so this stands in for --osc-host 127.0.0.1); setAllowed() narrows
// or widens it to a list of networks (--allow).
class Server {
public:
    // Opens both sockets; fails with "OSC port N is already in use (UDP)"-style messages.
    static Expected<std::unique_ptr<Server>> open(int port, bool localOnly, Handler handler);
    ~Server();
    Server(const Server &) = delete;
    Server &operator=(const Server &) = delete;

    // Waits up to timeoutMs for traffic, then dispatches every pending message to the
    // handler on this thread. Returns the number of messages dispatched.
    int poll(int timeoutMs);
    // Replies to msg's sender (UDP: from this server's UDP socket; TCP: over the same
    // connection). Call only from inside the handler that received msg. False on error.
    bool reply(const Message &msg, std::string_view address, const std::vector<Arg> &args = {});
    template <typename... A>
    bool replyWith(const Message &msg, std::string_view address, A &&...args)
    {
        return reply(msg, address, std::vector<Arg>{Arg(std::forward<A>(args))...});
    }
    // Sends to an arbitrary UDP URL from this server's UDP socket (notifications).
    bool sendTo(const std::string &url, std::string_view address, const std::vector<Arg> &args);
    // The port both sockets listen on.
    int port() const noexcept { return port_; }
    // Listens to senders on these networks only; others are dropped, counted and logged once
    // per address.
    void setAllowed(AllowList allowed) { allowed_ = std::move(allowed); hasAllowList_ = true; }
    // The networks listened to, as --allow takes them.
    std::string allowedText() const { return hasAllowList_ ? allowed_.text() : localOnly_ ? "127.0.0.0/8" : "0.0.0.0/0"; }
    // Packets dropped because their sender is not allowed.
    std::uint64_t refusedPackets() const noexcept { return refused_; }
    // UDP packets refused as malformed (each answered `/fail <address or ""> <reason>`).
    std::uint64_t malformedPackets() const noexcept { return malformed_; }

private:
    Server() = default;
    // Reads every waiting UDP datagram (up to kUdpBatch) and handles them one per sender in
    // turn. Returns how many were handled.
    int pollUdp();
    // Answers a malformed datagram with /fail, dispatches a valid one to the handler.
    void handleDatagram(const sockaddr_storage &from, const std::string &data);
    static constexpr std::size_t kUdpBatch = 4096;
    static constexpr int kUdpReceiveBytes = 8 << 20;
    struct Sender {
        sockaddr_storage from;
        std::vector<std::size_t> datagrams; // indices into batch_
        std::size_t next = 0;
    };
    std::vector<std::string> batch_;
    std::vector<Sender> senders_;
    void *dispatching_ = nullptr; // lo_address of the datagram being dispatched
    void *udp_ = nullptr; // lo_server
    void *tcp_ = nullptr; // lo_server
    int port_ = 0;
    bool localOnly_ = false;
    bool hasAllowList_ = false;
    AllowList allowed_;
    std::uint64_t refused_ = 0;
    std::vector<std::string> refusedHosts_; // logged once each (bounded)
    // True when `src` may talk to us; counts and logs (once per address) those that may not.
    bool admits(void *src);
    Handler handler_;
    std::vector<char> peekBuffer_;
    std::uint64_t malformed_ = 0;
    friend struct Dispatch;
};

// Client for tools and tests: sends from its own socket and receives replies on it.
class Client {
public:
    // Connects (TCP) or addresses (UDP) host:port. Fails if no local socket can be made.
    static Expected<std::unique_ptr<Client>> open(Protocol protocol, const std::string &host, int port);
    ~Client();
    Client(const Client &) = delete;
    Client &operator=(const Client &) = delete;

    // Sends one message. False when the send failed (e.g. TCP peer gone).
    bool send(std::string_view address, const std::vector<Arg> &args = {});
    // Sends a bundle holding one message, stamped with an NTP timetag.
    bool sendBundle(std::uint64_t timetag, std::string_view address, const std::vector<Arg> &args = {});
    // Next received message, waiting up to timeoutMs; nullopt on timeout.
    std::optional<Message> receive(int timeoutMs);
    // Sends, then returns the first reply whose first argument is `address` (e.g. the
    // "/done"/"/fail" convention) or whose own address is address + ".reply"/"/pong".
    // Other messages received meanwhile are dropped. nullopt on timeout.
    std::optional<Message> request(std::string_view address, const std::vector<Arg> &args, int timeoutMs);

private:
    Client() = default;
    void *server_ = nullptr; // lo_server
    void *target_ = nullptr; // lo_address
    std::vector<Message> inbox_;
    friend struct Dispatch;
};

// Renders a message as "address arg arg ..." for logs and test failure messages.
std::string toString(const Message &msg);

} // namespace chronus::osc
