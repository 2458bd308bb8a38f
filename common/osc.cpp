#include "common/osc.hpp"

#include "common/log.hpp"

#include <lo/lo.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <deque>
#include <arpa/inet.h>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

namespace chronus::osc {

namespace {

// liblo reports errors through a plain function pointer without user data; the last one
// seen on this thread explains a failed lo_server_new.
thread_local std::string lastLiblo;

void onLibloError(int num, const char *msg, const char *where)
{
    lastLiblo = log::cat(msg ? msg : "error", " (", num, where ? ", " : "", where ? where : "", ")");
    // Malformed packets land here too; they must never take the process down.
    log::debug("liblo: ", lastLiblo);
}

// liblo's "fixed" NTP timetag, as one 32.32 number.
std::uint64_t toNtp(lo_timetag t) { return (std::uint64_t(t.sec) << 32) | t.frac; }

// One OSC message as bytes (the wire form).
std::string serialise(std::string_view address, const std::vector<Arg> &args)
{
    std::string types = ",", data;
    const auto pad = [](std::string &s) { s.append(4 - s.size() % 4, '\0'); };
    const auto be = [&data](auto value) {
        unsigned char bytes[sizeof value];
        std::memcpy(bytes, &value, sizeof value);
        for (std::size_t i = sizeof value; i-- > 0;)
            data.push_back(char(bytes[i]));
    };
    for (const Arg &a : args) {
        std::visit(
            [&](const auto &v) {
                using T = std::decay_t<decltype(v)>;
                if constexpr (std::is_same_v<T, std::monostate>) {
                    types += 'N';
                } else if constexpr (std::is_same_v<T, std::int32_t>) {
                    types += 'i';
                    be(v);
                } else if constexpr (std::is_same_v<T, float>) {
                    types += 'f';
                    be(v);
                } else if constexpr (std::is_same_v<T, std::string>) {
                    types += 's';
                    data += v.c_str(); // up to a NUL, as OSC strings end there
                    pad(data);
                } else if constexpr (std::is_same_v<T, double>) {
                    types += 'd';
                    be(v);
                } else if constexpr (std::is_same_v<T, std::int64_t>) {
                    types += 'h';
                    be(v);
                } else if constexpr (std::is_same_v<T, bool>) {
                    types += v ? 'T' : 'F';
                } else if constexpr (std::is_same_v<T, Blob>) {
                    types += 'b';
                    be(std::int32_t(v.size()));
                    data.append(reinterpret_cast<const char *>(v.data()), v.size());
                    if (v.size() % 4)
                        data.append(4 - v.size() % 4, '\0');
                }
            },
            a);
    }
    std::string packet(address);
    pad(packet);
    pad(types);
    return packet + types + data;
}

// The same as a liblo message, for liblo to send. Built from the bytes, not argument by
// argument: liblo 0.31's lo_message_add_* overrun their buffer when the data grows to just
// past a power of two from 512 KiB on (measured with valgrind: a 1 MiB string argument).
lo_message build(const std::vector<Arg> &args)
{
    std::string packet = serialise("/", args);
    int result = 0;
    lo_message m = lo_message_deserialise(packet.data(), packet.size(), &result);
    return m ? m : lo_message_new();
}

// liblo's argument pointers point into the packet, 4-byte aligned only: read 8-byte
// values (and everything else, for uniformity) by copying, not through the union.
template <typename T>
T load(const lo_arg *a)
{
    T value;
    std::memcpy(&value, a, sizeof value);
    return value;
}

Message decode(const char *path, const char *types, lo_arg **argv, int argc, lo_message m,
               lo_address source = nullptr)
{
    Message msg;
    msg.address = path ? path : "";
    msg.types = types ? types : "";
    msg.args.reserve(argc);
    for (int i = 0; i < argc; ++i) {
        const lo_arg *a = argv[i];
        switch (msg.types[i]) {
        case 'i': msg.args.emplace_back(load<std::int32_t>(a)); break;
        case 'c': msg.args.emplace_back(std::int32_t(load<std::int32_t>(a))); break;
        case 'f': msg.args.emplace_back(load<float>(a)); break;
        case 'd': msg.args.emplace_back(load<double>(a)); break;
        case 'h': msg.args.emplace_back(load<std::int64_t>(a)); break;
        case 't': msg.args.emplace_back(std::int64_t(toNtp(load<lo_timetag>(a)))); break;
        case 's':
        case 'S': msg.args.emplace_back(std::string(reinterpret_cast<const char *>(a))); break;
        case 'T': msg.args.emplace_back(true); break;
        case 'F': msg.args.emplace_back(false); break;
        case 'b': {
            const auto *p = static_cast<const std::uint8_t *>(lo_blob_dataptr(const_cast<lo_arg *>(a)));
            msg.args.emplace_back(Blob(p, p + lo_blob_datasize(const_cast<lo_arg *>(a))));
            break;
        }
        default: msg.args.emplace_back(std::monostate{}); break;
        }
    }
    lo_address src = source ? source : lo_message_get_source(m);
    msg.sender = src;
    if (src) {
        msg.protocol = lo_address_get_protocol(src) == LO_TCP ? Protocol::Tcp : Protocol::Udp;
        if (char *url = lo_address_get_url(src)) {
            msg.senderUrl = url;
            std::free(url);
        }
    }
    const lo_timetag tt = lo_message_get_timestamp(m);
    if (!(tt.sec == 0 && tt.frac <= 1)) // 0 and 1 both mean "immediately"
        msg.timetag = toNtp(tt);
    return msg;
}

// A port number the kernel considers free right now for `type` (liblo 0.31 reports port
// 0 for a server opened on "0", and its own NULL-port choice collides between clients
// started in the same second). Another process may take it before we bind: callers retry.
int freePort(int type)
{
    const int fd = socket(AF_INET, type, 0);
    if (fd < 0)
        return 0;
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_ANY);
    socklen_t len = sizeof a;
    int port = 0;
    if (bind(fd, reinterpret_cast<sockaddr *>(&a), sizeof a) == 0 &&
        getsockname(fd, reinterpret_cast<sockaddr *>(&a), &len) == 0)
        port = ntohs(a.sin_port);
    close(fd);
    return port;
}

// Why a received packet is not valid OSC (empty: it is), checked as liblo will parse it, so
// the sender can be told instead of liblo dropping it in silence.
std::string malformedReason(const char *data, std::size_t size, int depth = 0)
{
    if (size == 0)
        return "empty packet";
    if (size % 4 != 0)
        return log::cat("packet of ", size, " bytes is not a multiple of 4");
    if (data[0] == '/') {
        int result = 0;
        lo_message m = lo_message_deserialise(const_cast<char *>(data), size, &result);
        if (m) {
            lo_message_free(m);
            return {};
        }
        switch (result) {
        case LO_EINVALIDPATH: return "the address is not a terminated, padded string";
        case LO_ENOTYPE: return "no type tag string";
        case LO_EINVALIDTYPE: return "the type tag string is not terminated and padded";
        case LO_EBADTYPE: return "unknown type tag";
        case LO_EINVALIDARG: return "the arguments do not match the type tags (truncated or malformed)";
        case LO_ESIZE: return "bad size";
        default: return log::cat("not a valid OSC message (liblo error ", result, ")");
        }
    }
    if (size >= 8 && std::memcmp(data, "#bundle", 8) == 0) {
        if (depth > 8)
            return "bundles nested too deep";
        if (size < 16)
            return "bundle without a timetag";
        for (std::size_t at = 16; at < size;) {
            if (size - at < 4)
                return "truncated bundle element size";
            std::uint32_t n = 0;
            std::memcpy(&n, data + at, 4);
            n = ntohl(n);
            at += 4;
            if (n == 0 || n % 4 != 0 || n > size - at)
                return log::cat("bundle element of ", n, " bytes does not fit the packet");
            if (auto why = malformedReason(data + at, n, depth + 1); !why.empty())
                return "in a bundle: " + why;
            at += n;
        }
        return {};
    }
    return "neither a message (address starting with '/') nor a #bundle";
}

// The address a malformed packet was meant for, if it has a readable one.
std::string readableAddress(const char *data, std::size_t size)
{
    if (size == 0 || data[0] != '/')
        return {};
    const std::size_t end = std::find(data, data + size, '\0') - data;
    return end < size ? std::string(data, end) : std::string();
}

bool isLoopback(const char *host)
{
    if (!host)
        return false;
    in_addr a4{};
    if (inet_pton(AF_INET, host, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    in6_addr a6{};
    if (inet_pton(AF_INET6, host, &a6) == 1)
        return IN6_IS_ADDR_LOOPBACK(&a6) || (IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127);
    return std::strcmp(host, "localhost") == 0;
}

} // namespace

Expected<AllowList> AllowList::parse(std::string_view text)
{
    AllowList list;
    list.text_ = std::string(text);
    std::size_t at = 0;
    while (at <= text.size()) {
        const std::size_t comma = std::min(text.find(',', at), text.size());
        std::string entry(text.substr(at, comma - at));
        at = comma + 1;
        if (entry.empty())
            return fail("--allow: an empty entry (use CIDR[,CIDR...], e.g. 127.0.0.1/32,192.168.1.0/24)");
        int bits = 32;
        if (const auto slash = entry.find('/'); slash != std::string::npos) {
            try {
                std::size_t used = 0;
                bits = std::stoi(entry.substr(slash + 1), &used);
                if (used != entry.size() - slash - 1)
                    bits = -1;
            } catch (...) {
                bits = -1;
            }
            entry.resize(slash);
        }
        in_addr a{};
        if (bits < 0 || bits > 32 || inet_pton(AF_INET, entry.c_str(), &a) != 1)
            return fail("--allow: '" + std::string(entry) + "' is not an IPv4 network (use e.g. 10.0.0.0/8 or 192.168.1.7)");
        const std::uint32_t mask = bits == 0 ? 0 : ~std::uint32_t{0} << (32 - bits);
        list.nets_.emplace_back(ntohl(a.s_addr) & mask, mask);
        if (comma == text.size())
            break;
    }
    return list;
}

AllowList AllowList::loopback()
{
    return *parse("127.0.0.0/8");
}

bool AllowList::allows(const char *host) const noexcept
{
    if (!host)
        return false;
    in_addr a4{};
    in6_addr a6{};
    std::uint32_t addr = 0;
    if (inet_pton(AF_INET, host, &a4) == 1)
        addr = ntohl(a4.s_addr);
    else if (inet_pton(AF_INET6, host, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6))
        addr = 0x7F000001;
    else if (inet_pton(AF_INET6, host, &a6) == 1 && IN6_IS_ADDR_V4MAPPED(&a6))
        std::memcpy(&addr, &a6.s6_addr[12], 4), addr = ntohl(addr);
    else if (std::strcmp(host, "localhost") == 0)
        addr = 0x7F000001;
    else
        return false;
    return std::any_of(nets_.begin(), nets_.end(), [addr](const auto &n) { return (addr & n.second) == n.first; });
}

bool Server::admits(const char *host)
{
    if (!hasAllowList_)
        return !localOnly_ || isLoopback(host);
    if (allowed_.allows(host))
        return true;
    ++refused_;
    const std::string who = host ? host : "?";
    if (refusedHosts_.size() < 64 && std::find(refusedHosts_.begin(), refusedHosts_.end(), who) == refusedHosts_.end()) {
        refusedHosts_.push_back(who);
        log::warn("osc: ignoring packets from ", who, " (not in --allow ", allowed_.text(), ")");
    }
    return false;
}

// Who sent the packet being dispatched.
struct Server::Origin {
    Protocol protocol = Protocol::Udp;
    std::string url;
    std::uint64_t connection = 0;
    void *udp = nullptr; // lo_address of a UDP sender
};

struct Dispatch {
    static int toServer(const char *path, const char *types, lo_arg **argv, int argc, lo_message m, void *user)
    {
        auto *self = static_cast<Server *>(user);
        // Every packet is read by the Server (and its sender admitted) before liblo parses
        // and dispatches it as data: its sender is the one being dispatched.
        const Server::Origin *from = self->dispatching_;
        if (!from)
            return 0;
        Message msg = decode(path, types, argv, argc, m);
        msg.protocol = from->protocol;
        msg.senderUrl = from->url;
        msg.connection = from->connection;
        msg.sender = from->udp;
        self->handler_(msg);
        return 0;
    }
    static int toClient(const char *path, const char *types, lo_arg **argv, int argc, lo_message m, void *user)
    {
        auto *self = static_cast<Client *>(user);
        Message msg = decode(path, types, argv, argc, m);
        msg.sender = nullptr; // kept beyond dispatch
        self->inbox_.push_back(std::move(msg));
        return 0;
    }
};

// --- Message ---------------------------------------------------------------------------

std::optional<std::string> Message::stringAt(std::size_t i) const
{
    if (i < args.size())
        if (const auto *s = std::get_if<std::string>(&args[i]))
            return *s;
    return std::nullopt;
}

std::optional<std::int64_t> Message::intAt(std::size_t i) const
{
    if (i >= args.size())
        return std::nullopt;
    if (const auto *v = std::get_if<std::int32_t>(&args[i]))
        return *v;
    if (const auto *v = std::get_if<std::int64_t>(&args[i]))
        return *v;
    return std::nullopt;
}

std::optional<double> Message::numberAt(std::size_t i) const
{
    if (auto v = intAt(i))
        return double(*v);
    if (i < args.size()) {
        if (const auto *f = std::get_if<float>(&args[i]))
            return double(*f);
        if (const auto *d = std::get_if<double>(&args[i]))
            return *d;
    }
    return std::nullopt;
}

std::string toString(const Message &msg)
{
    std::string s = msg.address;
    for (const Arg &a : msg.args) {
        s += ' ';
        std::visit(
            [&s](const auto &v) {
                using T = std::decay_t<decltype(v)>;
                if constexpr (std::is_same_v<T, std::monostate>)
                    s += "nil";
                else if constexpr (std::is_same_v<T, std::string>)
                    s += '"' + v + '"';
                else if constexpr (std::is_same_v<T, bool>)
                    s += v ? "true" : "false";
                else if constexpr (std::is_same_v<T, Blob>)
                    s += log::cat("<blob ", v.size(), ">");
                else
                    s += log::cat(v);
            },
            a);
    }
    return s;
}

// --- Server ----------------------------------------------------------------------------

// One accepted TCP connection. Its packets wait in `packets` until dispatchTcp() takes them
// in turn with everybody else's; its answers wait in `out` until the socket takes them.
struct Server::Connection {
    enum class Framing { Unknown, Size, Slip };
    int fd = -1;
    std::uint64_t id = 0;
    std::string host;
    std::string url;
    Framing framing = Framing::Unknown;
    std::string in;          // size framing: received bytes that do not make a whole packet yet
    std::string slip;        // SLIP framing: the packet being decoded
    bool slipEscape = false;
    std::deque<std::string> packets; // whole packets, not dispatched yet
    std::deque<std::string> out; // framed answers (and size prefixes) not written yet
    std::size_t outAt = 0;       // bytes of out.front() written already
    std::size_t outBytes = 0;    // bytes in `out` not written yet
    bool eof = false;        // the peer has closed its side
    bool closing = false;    // refused (oversize): no more packets; closes once `out` is written
    bool shut = false;       // closing, `out` written and our side shut; discarding input
    bool dead = false;       // to be closed by reap()
    std::chrono::steady_clock::time_point closeBy{};

    std::size_t waiting() const noexcept { return outBytes; }
    ~Connection()
    {
        if (fd >= 0)
            ::close(fd);
    }
};

namespace {

constexpr unsigned char kSlipEnd = 0xC0, kSlipEsc = 0xDB, kSlipEscEnd = 0xDC, kSlipEscEsc = 0xDD;

// An oversize message's connection gets this long to take its /fail and hang up.
constexpr auto kLinger = std::chrono::seconds(2);

std::string hostOf(const sockaddr_storage &from, int &port)
{
    char host[INET6_ADDRSTRLEN] = {};
    port = 0;
    if (from.ss_family == AF_INET) {
        const auto *a = reinterpret_cast<const sockaddr_in *>(&from);
        inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
        port = ntohs(a->sin_port);
    } else if (from.ss_family == AF_INET6) {
        const auto *a = reinterpret_cast<const sockaddr_in6 *>(&from);
        inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
        port = ntohs(a->sin6_port);
    }
    return host;
}

} // namespace

Expected<std::unique_ptr<Server>> Server::open(int port, bool localOnly, Handler handler)
{
    std::unique_ptr<Server> s(new Server());
    s->localOnly_ = localOnly;
    s->handler_ = std::move(handler);

    // Port 0: ask the kernel for a free number, then bind it over UDP and TCP; retry a few
    // times in case someone else takes it in between.
    for (int attempt = 0; attempt < (port == 0 ? 20 : 1); ++attempt) {
        const std::string want = std::to_string(port == 0 ? freePort(SOCK_STREAM) : port);
        lastLiblo.clear();
        auto *udp = lo_server_new_with_proto(want.c_str(), LO_UDP, onLibloError);
        if (!udp && port == 0)
            continue;
        if (!udp)
            return fail(log::cat("OSC port ", port, " is already in use or not allowed (UDP): ", lastLiblo));
        // TCP on the same number, on every IPv4 interface (as liblo's own TCP server did).
        const int tcp = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        const int on = 1;
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_ANY);
        a.sin_port = htons(std::uint16_t(lo_server_get_port(udp)));
        if (tcp < 0 || ::setsockopt(tcp, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) != 0 ||
            ::bind(tcp, reinterpret_cast<sockaddr *>(&a), sizeof a) != 0 || ::listen(tcp, 64) != 0) {
            const std::string why = std::strerror(errno);
            if (tcp >= 0)
                ::close(tcp);
            lo_server_free(udp);
            if (port != 0)
                return fail(log::cat("OSC port ", port, " is already in use or not allowed (TCP): ", why));
            continue;
        }
        // Room for a burst of datagrams while the control thread is busy (the default holds
        // a few hundred small ones). FORCE goes past rmem_max where we may; else as allowed.
        const int fd = lo_server_get_socket_fd(udp);
        int bytes = kUdpReceiveBytes;
        if (::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof bytes) != 0)
            (void)::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes);
        s->udp_ = udp;
        s->listen_ = tcp;
        s->port_ = lo_server_get_port(udp);
        break;
    }
    if (!s->udp_)
        return fail("could not find a free OSC port for both UDP and TCP");

    auto *srv = static_cast<lo_server>(s->udp_);
    // Deliver bundles now with their timetag; the caller schedules on the JACK clock.
    lo_server_enable_queue(srv, 0, 1);
    // It parses TCP messages too (patches travel as JSON text: up to 4 MiB).
    lo_server_max_msg_size(srv, kMaxTcpMessageBytes);
    lo_server_add_method(srv, nullptr, nullptr, &Dispatch::toServer, s.get());
    return s;
}

Server::~Server()
{
    connections_.clear();
    if (listen_ >= 0)
        ::close(listen_);
    if (udp_)
        lo_server_free(static_cast<lo_server>(udp_));
}

int Server::poll(int timeoutMs)
{
    // Packets already read wait for their turn: then look at the sockets without waiting.
    const bool backlog = std::any_of(connections_.begin(), connections_.end(),
                                     [](const auto &c) { return !c->packets.empty(); });
    pollFds_.clear();
    pollFds_.push_back({lo_server_get_socket_fd(static_cast<lo_server>(udp_)), POLLIN, 0});
    pollFds_.push_back({listen_, POLLIN, 0});
    for (const auto &c : connections_) {
        // A connection with a round's worth of packets waiting is not read until they are
        // dispatched: the kernel's buffers then push back on its sender.
        const bool read = !c->eof && c->packets.size() < kTcpPacketsPerPoll;
        pollFds_.push_back({c->fd, short((read ? POLLIN : 0) | (c->waiting() ? POLLOUT : 0)), 0});
    }
    const std::size_t polled = connections_.size();
    if (::poll(pollFds_.data(), pollFds_.size(), backlog ? 0 : timeoutMs) < 0)
        return 0; // EINTR: the caller's loop comes back
    int dispatched = (pollFds_[0].revents & POLLIN) ? pollUdp() : 0;
    if (pollFds_[1].revents & POLLIN)
        acceptConnections();
    for (std::size_t i = 0; i < polled; ++i) {
        const short ready = pollFds_[2 + i].revents;
        Connection &c = *connections_[i];
        if (ready & POLLOUT)
            flush(c);
        if (ready & (POLLIN | POLLHUP | POLLERR))
            receive(c);
    }
    dispatched += dispatchTcp();
    reap();
    return dispatched;
}

int Server::pollUdp()
{
    // Everything waiting (up to a batch) is read first, then handled one datagram per
    // sender in turn: a client flooding us cannot make anyone else's message wait behind its
    // whole burst.
    const int fd = lo_server_get_socket_fd(static_cast<lo_server>(udp_));
    batch_.clear();
    senders_.clear();
    for (std::size_t n = 0; n < kUdpBatch; ++n) {
        sockaddr_storage from{};
        socklen_t fromLen = sizeof from;
        peekBuffer_.resize(65536);
        const ssize_t got = ::recvfrom(fd, peekBuffer_.data(), peekBuffer_.size(), MSG_DONTWAIT,
                                       reinterpret_cast<sockaddr *>(&from), &fromLen);
        if (got < 0)
            break;
        std::size_t sender = 0;
        while (sender < senders_.size() && std::memcmp(&senders_[sender].from, &from, sizeof from) != 0)
            ++sender;
        if (sender == senders_.size())
            senders_.push_back({from, {}, 0});
        senders_[sender].datagrams.push_back(batch_.size());
        batch_.emplace_back(peekBuffer_.data(), std::size_t(got));
    }
    int dispatched = 0;
    for (bool more = true; more;) {
        more = false;
        for (Sender &s : senders_) {
            if (s.next == s.datagrams.size())
                continue;
            handleDatagram(s.from, batch_[s.datagrams[s.next++]]);
            ++dispatched;
            more = true;
        }
    }
    return dispatched;
}

void Server::handleDatagram(const sockaddr_storage &from, const std::string &data)
{
    int port = 0;
    const std::string host = hostOf(from, port);
    if (port == 0 || !admits(host.c_str())) {
        log::debug("osc: dropped a packet from ", host, ", not allowed");
        return;
    }
    lo_address src = lo_address_new(host.c_str(), std::to_string(port).c_str());
    if (!src)
        return;
    Origin origin{Protocol::Udp, {}, 0, src};
    if (char *url = lo_address_get_url(src)) {
        origin.url = url;
        std::free(url);
    }
    handlePacket(origin, data);
    lo_address_free(src);
}

void Server::handlePacket(const Origin &from, const std::string &data)
{
    if (const std::string why = malformedReason(data.data(), data.size()); !why.empty()) {
        // liblo would drop an invalid packet without a word; its sender deserves a /fail.
        ++malformed_;
        log::debug("osc: malformed packet from ", from.url, ": ", why);
        const std::vector<Arg> args = {readableAddress(data.data(), data.size()), "malformed OSC packet: " + why};
        if (from.protocol == Protocol::Udp) {
            lo_message m = build(args);
            lo_send_message_from(static_cast<lo_address>(from.udp), static_cast<lo_server>(udp_), "/fail", m);
            lo_message_free(m);
        } else {
            send({from.protocol, from.url, from.connection}, "/fail", args);
        }
        return;
    }
    dispatching_ = &from;
    lo_server_dispatch_data(static_cast<lo_server>(udp_), const_cast<char *>(data.data()), data.size());
    dispatching_ = nullptr;
}

void Server::acceptConnections()
{
    for (int n = 0; n < 32; ++n) {
        sockaddr_storage from{};
        socklen_t fromLen = sizeof from;
        const int fd = ::accept4(listen_, reinterpret_cast<sockaddr *>(&from), &fromLen, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;
        int port = 0;
        const std::string host = hostOf(from, port);
        if (!admits(host.c_str())) {
            log::debug("osc: refused a TCP connection from ", host, ", not allowed");
            ::close(fd);
            continue;
        }
        if (connections_.size() >= kMaxTcpConnections) {
            log::warn("osc: refused a TCP connection from ", host, ":", port, " (", kMaxTcpConnections,
                      " are open already)");
            ::close(fd);
            continue;
        }
        // Each answer is one send() of size and body, but it should not wait for the peer's
        // delayed ACK of the one before.
        const int on = 1;
        (void)::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
        auto c = std::make_unique<Connection>();
        c->fd = fd;
        c->id = ++lastConnection_;
        c->host = host;
        c->url = log::cat("osc.tcp://", host, ":", port, "/");
        connections_.push_back(std::move(c));
    }
}

void Server::receive(Connection &c)
{
    char buffer[64 << 10];
    if (c.closing || c.eof) {
        // Read and drop what still comes, so closing does not reset the connection (and
        // throw away our /fail) while the peer is still sending; done at its end of stream.
        for (;;) {
            const ssize_t got = ::recv(c.fd, buffer, sizeof buffer, MSG_DONTWAIT);
            if (got == 0 || (got < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
                c.eof = true;
                return;
            }
            if (got < 0)
                return;
        }
    }
    // A bounded read per poll: a client sending without pause shares the loop with the rest.
    for (std::size_t budget = kTcpReadBytes; budget > 0 && c.packets.size() < kTcpPacketsPerPoll && !c.closing;) {
        const ssize_t got = ::recv(c.fd, buffer, std::min(sizeof buffer, budget), MSG_DONTWAIT);
        if (got > 0) {
            budget -= std::size_t(got);
            frame(c, buffer, std::size_t(got));
        } else if (got == 0) {
            c.eof = true;
            return;
        } else if (errno == EINTR) {
            continue;
        } else {
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                c.dead = true; // reset by the peer
            return;
        }
    }
}

void Server::frame(Connection &c, const char *data, std::size_t n)
{
    if (n == 0)
        return;
    // The first byte says how the peer frames: OSC 1.1 SLIP streams begin with END.
    if (c.framing == Connection::Framing::Unknown)
        c.framing = static_cast<unsigned char>(data[0]) == kSlipEnd ? Connection::Framing::Slip
                                                                   : Connection::Framing::Size;
    if (c.framing == Connection::Framing::Slip) {
        for (std::size_t i = 0; i < n && !c.closing; ++i) {
            const auto b = static_cast<unsigned char>(data[i]);
            if (c.slipEscape) {
                c.slipEscape = false;
                c.slip.push_back(char(b == kSlipEscEnd ? kSlipEnd : b == kSlipEscEsc ? kSlipEsc : b));
            } else if (b == kSlipEnd) {
                if (!c.slip.empty()) // END END (OSC 1.1's double END) is no packet
                    c.packets.push_back(std::move(c.slip));
                c.slip.clear();
            } else if (b == kSlipEsc) {
                c.slipEscape = true;
            } else {
                c.slip.push_back(char(b));
            }
            if (c.slip.size() > std::size_t(kMaxTcpMessageBytes))
                oversize(c, c.slip.size(), readableAddress(c.slip.data(), c.slip.size()));
        }
        return;
    }
    c.in.append(data, n);
    std::size_t at = 0;
    while (c.in.size() - at >= 4 && !c.closing) {
        std::uint32_t size = 0;
        std::memcpy(&size, c.in.data() + at, 4);
        size = ntohl(size);
        if (size > std::uint32_t(kMaxTcpMessageBytes)) {
            oversize(c, size, readableAddress(c.in.data() + at + 4, c.in.size() - at - 4));
            break;
        }
        if (c.in.size() - at - 4 < size)
            break;
        if (size > 0) // an empty packet is nothing to answer
            c.packets.emplace_back(c.in, at + 4, size);
        at += 4 + std::size_t(size);
    }
    c.in.erase(0, at);
}

void Server::oversize(Connection &c, std::uint64_t bytes, std::string_view address)
{
    ++malformed_;
    log::warn("osc: closing the TCP connection from ", c.url, ": a message of ", bytes, " bytes or more (the limit is ",
              kMaxTcpMessageBytes, ")");
    queue(c, serialise("/fail", {std::string(address),
                                 log::cat("message of ", bytes, " bytes is over the limit of ", kMaxTcpMessageBytes,
                                          " bytes; closing the connection")}));
    c.closing = true;
    c.closeBy = std::chrono::steady_clock::now() + kLinger;
    c.in.clear();
    c.in.shrink_to_fit();
    c.slip.clear();
    c.slip.shrink_to_fit();
}

int Server::dispatchTcp()
{
    // One packet per connection in turn, a bounded number of rounds: the rest waits for
    // the next poll, behind everybody else's. Handlers do not add or remove connections
    // (send() only marks one dead), so indices stay valid.
    int dispatched = 0;
    for (std::size_t round = 0; round < kTcpPacketsPerPoll; ++round) {
        bool more = false;
        for (std::size_t i = 0; i < connections_.size(); ++i) {
            Connection &c = *connections_[i];
            if (c.dead || c.packets.empty())
                continue;
            const std::string packet = std::move(c.packets.front());
            c.packets.pop_front();
            const Origin origin{Protocol::Tcp, c.url, c.id, nullptr};
            handlePacket(origin, packet);
            ++dispatched;
            more = true;
        }
        if (!more)
            break;
    }
    return dispatched;
}

void Server::flush(Connection &c)
{
    while (!c.out.empty() && !c.dead) {
        // As many queued pieces as one sendmsg() takes: no copying them together.
        iovec pieces[16];
        std::size_t n = 0;
        for (auto it = c.out.begin(); it != c.out.end() && n < std::size(pieces); ++it, ++n) {
            const std::size_t skip = n == 0 ? c.outAt : 0;
            pieces[n] = {it->data() + skip, it->size() - skip};
        }
        msghdr m{};
        m.msg_iov = pieces;
        m.msg_iovlen = n;
        const ssize_t sent = ::sendmsg(c.fd, &m, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (sent < 0 && errno == EINTR)
            continue;
        if (sent <= 0) {
            if (sent < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
                c.dead = true; // the peer is gone
            return;
        }
        c.outBytes -= std::size_t(sent);
        for (std::size_t left = std::size_t(sent); left > 0;) {
            const std::size_t rest = c.out.front().size() - c.outAt;
            if (left < rest) {
                c.outAt += left;
                break;
            }
            left -= rest;
            c.out.pop_front();
            c.outAt = 0;
        }
    }
}

bool Server::queue(Connection &c, std::string packet)
{
    if (c.dead)
        return false;
    if (c.framing == Connection::Framing::Slip) {
        std::string framed;
        framed.reserve(packet.size() + packet.size() / 64 + 2);
        framed.push_back(char(kSlipEnd));
        for (const char ch : packet) {
            const auto b = static_cast<unsigned char>(ch);
            if (b == kSlipEnd)
                framed.append({char(kSlipEsc), char(kSlipEscEnd)});
            else if (b == kSlipEsc)
                framed.append({char(kSlipEsc), char(kSlipEscEsc)});
            else
                framed.push_back(ch);
        }
        framed.push_back(char(kSlipEnd));
        packet = std::move(framed);
    } else {
        const std::uint32_t size = htonl(std::uint32_t(packet.size()));
        c.out.emplace_back(reinterpret_cast<const char *>(&size), 4);
        c.outBytes += 4;
    }
    c.outBytes += packet.size();
    c.out.push_back(std::move(packet));
    flush(c);
    if (c.waiting() > kMaxTcpOutputBytes) {
        // The peer does not read its answers: drop it rather than hold its backlog, or
        // ever wait for it.
        ++dropped_;
        log::warn("osc: dropping the TCP connection from ", c.url, ": it does not read its answers (", c.waiting(),
                  " bytes waiting)");
        c.dead = true;
    }
    return !c.dead;
}

bool Server::reap()
{
    const auto now = std::chrono::steady_clock::now();
    bool backlog = false;
    std::erase_if(connections_, [&](const std::unique_ptr<Connection> &p) {
        Connection &c = *p;
        if (c.closing && !c.shut && c.waiting() == 0) {
            // The /fail is written: say we are done, then wait (briefly) for the peer's end.
            ::shutdown(c.fd, SHUT_WR);
            c.shut = true;
        }
        if (c.closing && now > c.closeBy)
            c.dead = true;
        // A peer that has closed its side gets what it asked for until then, then we close:
        // an answer that comes later finds the connection gone.
        if (c.eof && c.packets.empty() && (c.waiting() == 0 || c.closing))
            c.dead = true;
        backlog = backlog || (!c.dead && !c.packets.empty());
        return c.dead;
    });
    return backlog;
}

Server::Connection *Server::connection(std::uint64_t id) const
{
    for (const auto &c : connections_)
        if (c->id == id)
            return c->dead ? nullptr : c.get();
    return nullptr;
}

bool Server::reply(const Message &msg, std::string_view address, const std::vector<Arg> &args)
{
    if (msg.protocol == Protocol::Tcp || !msg.sender)
        return send(msg.peer(), address, args);
    // UDP: from our UDP socket, so the sender sees our port.
    lo_message m = build(args);
    const std::string path(address);
    const int r = lo_send_message_from(static_cast<lo_address>(msg.sender), static_cast<lo_server>(udp_), path.c_str(), m);
    lo_message_free(m);
    if (r < 0)
        log::debug("osc: reply ", path, " to ", msg.senderUrl, " failed");
    return r >= 0;
}

bool Server::send(const Peer &to, std::string_view address, const std::vector<Arg> &args)
{
    if (to.protocol == Protocol::Udp)
        return !to.url.empty() && sendTo(to.url, address, args);
    Connection *c = connection(to.connection);
    if (!c || c->closing)
        return false; // gone since (or going): nobody to tell
    return queue(*c, serialise(address, args));
}

bool Server::sendTo(const std::string &url, std::string_view address, const std::vector<Arg> &args)
{
    lo_address a = lo_address_new_from_url(url.c_str());
    if (!a)
        return false;
    lo_message m = build(args);
    const std::string path(address);
    const int r = lo_send_message_from(a, static_cast<lo_server>(udp_), path.c_str(), m);
    lo_message_free(m);
    lo_address_free(a);
    return r >= 0;
}

// --- Client ----------------------------------------------------------------------------

Expected<std::unique_ptr<Client>> Client::open(Protocol protocol, const std::string &host, int port)
{
    std::unique_ptr<Client> c(new Client());
    const int proto = protocol == Protocol::Tcp ? LO_TCP : LO_UDP;
    lastLiblo.clear();
    lo_server srv = nullptr;
    for (int attempt = 0; attempt < 20 && !srv; ++attempt) {
        const std::string port = std::to_string(freePort(protocol == Protocol::Tcp ? SOCK_STREAM : SOCK_DGRAM));
        srv = lo_server_new_with_proto(port.c_str(), proto, onLibloError);
    }
    if (!srv)
        return fail("cannot open a local OSC socket: " + lastLiblo);
    lo_server_enable_queue(srv, 0, 1);
    lo_server_add_method(srv, nullptr, nullptr, &Dispatch::toClient, c.get());
    c->server_ = srv;
    c->target_ = lo_address_new_with_proto(proto, host.c_str(), std::to_string(port).c_str());
    if (!c->target_)
        return fail(log::cat("bad OSC address ", host, ":", port));
    if (protocol == Protocol::Tcp)
        lo_address_set_tcp_nodelay(static_cast<lo_address>(c->target_), 1);
    return c;
}

Client::~Client()
{
    if (target_)
        lo_address_free(static_cast<lo_address>(target_));
    if (server_)
        lo_server_free(static_cast<lo_server>(server_));
}

bool Client::send(std::string_view address, const std::vector<Arg> &args)
{
    lo_message m = build(args);
    const std::string path(address);
    const int r = lo_send_message_from(static_cast<lo_address>(target_), static_cast<lo_server>(server_),
                                       path.c_str(), m);
    lo_message_free(m);
    return r >= 0;
}

bool Client::sendBundle(std::uint64_t timetag, std::string_view address, const std::vector<Arg> &args)
{
    lo_timetag tt{std::uint32_t(timetag >> 32), std::uint32_t(timetag & 0xffffffffu)};
    lo_bundle b = lo_bundle_new(tt);
    lo_message m = build(args);
    const std::string path(address);
    lo_bundle_add_message(b, path.c_str(), m);
    const int r = lo_send_bundle_from(static_cast<lo_address>(target_), static_cast<lo_server>(server_), b);
    lo_bundle_free_recursive(b);
    return r >= 0;
}

std::optional<Message> Client::receive(int timeoutMs)
{
    auto *srv = static_cast<lo_server>(server_);
    if (inbox_.empty()) {
        lo_server_recv_noblock(srv, timeoutMs);
    }
    if (inbox_.empty())
        return std::nullopt;
    Message m = std::move(inbox_.front());
    inbox_.erase(inbox_.begin());
    return m;
}

std::optional<Message> Client::request(std::string_view address, const std::vector<Arg> &args, int timeoutMs)
{
    if (!send(address, args))
        return std::nullopt;
    const std::string want(address);
    struct timespec start{};
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        struct timespec now{};
        clock_gettime(CLOCK_MONOTONIC, &now);
        const long elapsedMs = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
        if (elapsedMs >= timeoutMs)
            return std::nullopt;
        auto m = receive(int(timeoutMs - elapsedMs));
        if (!m)
            continue;
        if ((m->address == "/done" || m->address == "/fail") && m->stringAt(0) == want)
            return m;
        if (m->address == want + ".reply" || (want == "/ping" && m->address == "/pong"))
            return m;
    }
}

} // namespace chronus::osc
