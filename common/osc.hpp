// OSC for control threads: a server listening on UDP and TCP on one port number, polled
// from the caller's own loop, and a small client for tools and tests. Parsing, dispatch and
// the client are liblo 0.31's, with its bundle queue off (bundles are delivered at once,
// timetag attached), so the caller maps timetags to JACK frames itself. The server reads and
// writes its own sockets, TCP included (liblo's TCP server could not answer on a connection
// after the handler returned), so an answer may go out whenever it is ready. Never use any
// of this on the audio thread.
#pragma once

#include "common/expected.hpp"

#include <cstdint>

#include <poll.h>
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

// Where a message came from, in a form that outlives its handler: where a later answer
// goes (Server::send). UDP: the sender's URL. TCP: the connection it came on; connection
// ids are never reused, so an answer for a connection that has closed goes nowhere.
struct Peer {
    Protocol protocol = Protocol::Udp;
    std::string url;              // "osc.udp://127.0.0.1:41234/", "osc.tcp://127.0.0.1:50122/"
    std::uint64_t connection = 0; // TCP: the Server's id for the connection; 0 for UDP
    bool empty() const noexcept { return url.empty() && connection == 0; }
    bool operator==(const Peer &) const = default;
};

// A received message. `sender` is liblo's handle for a UDP source: valid only while the
// handler that received this message runs. To answer later, keep peer().
struct Message {
    std::string address;
    std::string types;            // OSC typetag string without the leading ','
    std::vector<Arg> args;
    Protocol protocol = Protocol::Udp;
    std::string senderUrl;        // e.g. "osc.udp://127.0.0.1:41234/"
    std::uint64_t connection = 0; // TCP: the connection it came on (see Peer)
    std::optional<std::uint64_t> timetag; // NTP 32.32 of the enclosing bundle; none if immediate
    void *sender = nullptr;       // UDP: lo_address, dispatch-time only

    Peer peer() const { return {protocol, senderUrl, connection}; }

    // Typed access; nullopt when the argument is missing or of another type.
    std::optional<std::string> stringAt(std::size_t i) const;
    std::optional<std::int64_t> intAt(std::size_t i) const;   // i, h, c
    std::optional<double> numberAt(std::size_t i) const;      // i, h, f, d
};

using Handler = std::function<void(const Message &)>;

// Largest message a Server takes over TCP (UDP: one datagram, at most 64 KiB). A bigger one
// is answered `/fail <address or ""> <reason>` and its connection closed.
inline constexpr int kMaxTcpMessageBytes = 4 << 20;
// Answers waiting to be written to one TCP connection whose peer does not read them; past
// this the connection is dropped (the control loop never waits for a slow reader).
inline constexpr std::size_t kMaxTcpOutputBytes = 16 << 20;
// Most TCP connections a Server keeps open at once; further ones are closed on arrival.
inline constexpr std::size_t kMaxTcpConnections = 128;

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
// or widens it to a list of networks (--allow). TCP: each packet is framed the OSC 1.0 way
// (a big-endian int32 size before it, as liblo sends) or, when the stream starts with
// 0xC0, as SLIP (OSC 1.1); answers go back framed the same way. Every connection is
// non-blocking; one poll reads and dispatches a bounded share of each connection's packets
// in turn, so a client flooding us cannot keep the others waiting.
class Server {
public:
    // Opens both sockets; fails with "OSC port N is already in use (UDP)"-style messages.
    static Expected<std::unique_ptr<Server>> open(int port, bool localOnly, Handler handler);
    ~Server();
    Server(const Server &) = delete;
    Server &operator=(const Server &) = delete;

    // Waits up to timeoutMs for traffic, then dispatches waiting messages to the handler on
    // this thread (each TCP connection a bounded share; the rest at the next poll, which
    // then does not wait). Returns the number of messages dispatched.
    int poll(int timeoutMs);
    // Replies to msg's sender (UDP: from this server's UDP socket; TCP: over the same
    // connection). Call from inside the handler that received msg; later, use send(peer()).
    // False on error.
    bool reply(const Message &msg, std::string_view address, const std::vector<Arg> &args = {});
    // Sends to a message's sender at any time (an answer that had to wait): UDP from this
    // server's UDP socket to its URL; TCP over its connection, queued when the socket is
    // busy (written by later polls). False, and nothing sent, when the connection has
    // closed since; a connection whose queue passes kMaxTcpOutputBytes is dropped.
    bool send(const Peer &to, std::string_view address, const std::vector<Arg> &args = {});
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
    // Packets (UDP) and connections (TCP) dropped because their sender is not allowed.
    std::uint64_t refusedPackets() const noexcept { return refused_; }
    // Packets refused as malformed (each answered `/fail <address or ""> <reason>`), TCP
    // messages over kMaxTcpMessageBytes included.
    std::uint64_t malformedPackets() const noexcept { return malformed_; }
    // TCP connections open now.
    std::size_t tcpConnections() const noexcept { return connections_.size(); }
    // TCP connections dropped because their peer did not read its answers.
    std::uint64_t droppedConnections() const noexcept { return dropped_; }

private:
    struct Connection; // an accepted TCP connection and its buffers (osc.cpp)
    struct Origin;     // the sender of the packet being dispatched
    Server() = default;
    // Reads every waiting UDP datagram (up to kUdpBatch) and handles them one per sender in
    // turn. Returns how many were handled.
    int pollUdp();
    // Checks a datagram's sender against the allow list, then handles it.
    void handleDatagram(const sockaddr_storage &from, const std::string &data);
    // Answers a malformed packet with /fail, dispatches a valid one to the handler.
    void handlePacket(const Origin &from, const std::string &data);
    // Accepts waiting connections from allowed peers (up to kMaxTcpConnections open).
    void acceptConnections();
    // Reads what one connection sent (a bounded amount) and splits it into packets.
    void receive(Connection &c);
    // Takes `n` received bytes into the connection's packet framing.
    void frame(Connection &c, const char *data, std::size_t n);
    // A message over kMaxTcpMessageBytes: /fail, then close once that is written.
    void oversize(Connection &c, std::uint64_t bytes, std::string_view address);
    // Dispatches queued TCP packets, one per connection in turn. Returns how many.
    int dispatchTcp();
    // Writes what the connection has queued, as far as the socket takes it.
    void flush(Connection &c);
    // Queues one packet (framed as the peer frames) and writes what the socket takes.
    bool queue(Connection &c, std::string packet);
    // Closes and forgets finished connections; true when some still hold packets to dispatch.
    bool reap();
    Connection *connection(std::uint64_t id) const;
    static constexpr std::size_t kUdpBatch = 4096;
    static constexpr int kUdpReceiveBytes = 8 << 20;
    // Per connection and poll: bytes read, packets dispatched.
    static constexpr std::size_t kTcpReadBytes = 256 << 10;
    static constexpr std::size_t kTcpPacketsPerPoll = 64;
    struct Sender {
        sockaddr_storage from;
        std::vector<std::size_t> datagrams; // indices into batch_
        std::size_t next = 0;
    };
    std::vector<std::string> batch_;
    std::vector<Sender> senders_;
    const Origin *dispatching_ = nullptr; // the sender of the packet being dispatched
    void *udp_ = nullptr; // lo_server (parses and dispatches every packet, sends UDP)
    int listen_ = -1;     // TCP
    std::vector<std::unique_ptr<Connection>> connections_;
    std::uint64_t lastConnection_ = 0;
    std::uint64_t dropped_ = 0;
    std::vector<pollfd> pollFds_;
    int port_ = 0;
    bool localOnly_ = false;
    bool hasAllowList_ = false;
    AllowList allowed_;
    std::uint64_t refused_ = 0;
    std::vector<std::string> refusedHosts_; // logged once each (bounded)
    // True when `host` may talk to us; counts and logs (once per address) those that may not.
    bool admits(const char *host);
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
