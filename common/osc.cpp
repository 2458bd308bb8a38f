#include "common/osc.hpp"

#include "common/log.hpp"

#include <lo/lo.h>

#include <algorithm>
#include <arpa/inet.h>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
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

lo_message build(const std::vector<Arg> &args)
{
    lo_message m = lo_message_new();
    for (const Arg &a : args) {
        std::visit(
            [m](const auto &v) {
                using T = std::decay_t<decltype(v)>;
                if constexpr (std::is_same_v<T, std::monostate>)
                    lo_message_add_nil(m);
                else if constexpr (std::is_same_v<T, std::int32_t>)
                    lo_message_add_int32(m, v);
                else if constexpr (std::is_same_v<T, float>)
                    lo_message_add_float(m, v);
                else if constexpr (std::is_same_v<T, std::string>)
                    lo_message_add_string(m, v.c_str());
                else if constexpr (std::is_same_v<T, double>)
                    lo_message_add_double(m, v);
                else if constexpr (std::is_same_v<T, std::int64_t>)
                    lo_message_add_int64(m, v);
                else if constexpr (std::is_same_v<T, bool>)
                    v ? lo_message_add_true(m) : lo_message_add_false(m);
                else if constexpr (std::is_same_v<T, Blob>) {
                    lo_blob b = lo_blob_new(static_cast<int32_t>(v.size()), v.data());
                    lo_message_add_blob(m, b);
                    lo_blob_free(b);
                }
            },
            a);
    }
    return m;
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

// liblo writes an OSC-over-TCP message as two send() calls (size, then body), so with
// Nagle on, every reply waits ~40 ms for the peer's delayed ACK. liblo 0.31's
// lo_address_set_tcp_nodelay passes the flag's previous value to setsockopt (measured
// with strace); toggling it through both states leaves the socket with TCP_NODELAY on.
void enableNoDelay(lo_address a)
{
    static const bool inverted = [] {
        char text[32];
        int major = 0, minor = 0;
        lo_version(text, sizeof text, &major, &minor, nullptr, 0, nullptr, nullptr, nullptr);
        return major == 0 && minor <= 31;
    }();
    lo_address_set_tcp_nodelay(a, 1);
    if (inverted)
        lo_address_set_tcp_nodelay(a, 0);
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

bool isLoopback(lo_address src)
{
    const char *host = src ? lo_address_get_hostname(src) : nullptr;
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

bool Server::admits(void *source)
{
    auto src = static_cast<lo_address>(source);
    if (!hasAllowList_)
        return !localOnly_ || isLoopback(src);
    const char *host = src ? lo_address_get_hostname(src) : nullptr;
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

struct Dispatch {
    static int toServer(const char *path, const char *types, lo_arg **argv, int argc, lo_message m, void *user)
    {
        auto *self = static_cast<Server *>(user);
        // UDP datagrams are read by Server::pollUdp and handed to liblo as data: their sender
        // is the one it is dispatching.
        auto source = static_cast<lo_address>(self->dispatching_);
        if (!self->admits(source ? source : lo_message_get_source(m))) {
            log::debug("osc: dropped ", path, " from a sender not allowed");
            return 0;
        }
        const Message msg = decode(path, types, argv, argc, m, source);
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
        const std::string got = std::to_string(lo_server_get_port(udp));
        auto *tcp = lo_server_new_with_proto(got.c_str(), LO_TCP, onLibloError);
        if (!tcp) {
            lo_server_free(udp);
            if (port != 0)
                return fail(log::cat("OSC port ", port, " is already in use or not allowed (TCP): ", lastLiblo));
            continue;
        }
        // Patches travel as JSON text; over TCP allow 4 MiB (a UDP datagram caps at 64 KiB).
        lo_server_max_msg_size(tcp, kMaxTcpMessageBytes);
        // Room for a burst of datagrams while the control thread is busy (the default holds
        // a few hundred small ones). FORCE goes past rmem_max where we may; else as allowed.
        const int fd = lo_server_get_socket_fd(udp);
        int bytes = kUdpReceiveBytes;
        if (::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof bytes) != 0)
            (void)::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes);
        s->udp_ = udp;
        s->tcp_ = tcp;
        s->port_ = lo_server_get_port(udp);
        break;
    }
    if (!s->udp_)
        return fail("could not find a free OSC port for both UDP and TCP");

    for (void *p : {s->udp_, s->tcp_}) {
        auto *srv = static_cast<lo_server>(p);
        // Deliver bundles now with their timetag; the caller schedules on the JACK clock.
        lo_server_enable_queue(srv, 0, 1);
        lo_server_add_method(srv, nullptr, nullptr, &Dispatch::toServer, s.get());
    }
    return s;
}

Server::~Server()
{
    if (udp_)
        lo_server_free(static_cast<lo_server>(udp_));
    if (tcp_)
        lo_server_free(static_cast<lo_server>(tcp_));
}

int Server::poll(int timeoutMs)
{
    lo_server servers[2] = {static_cast<lo_server>(udp_), static_cast<lo_server>(tcp_)};
    int status[2] = {0, 0};
    if (lo_servers_wait(servers, status, 2, timeoutMs) <= 0)
        return 0;
    int dispatched = status[0] ? pollUdp() : 0;
    if (status[1]) {
        // Drain: each call handles one TCP message and returns its size.
        for (int n = 0; n < 256 && lo_server_recv_noblock(servers[1], 0) > 0; ++n)
            ++dispatched;
    }
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
    char host[INET6_ADDRSTRLEN] = {};
    int port = 0;
    if (from.ss_family == AF_INET) {
        const auto *a = reinterpret_cast<const sockaddr_in *>(&from);
        inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
        port = ntohs(a->sin_port);
    } else if (from.ss_family == AF_INET6) {
        const auto *a = reinterpret_cast<const sockaddr_in6 *>(&from);
        inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
        port = ntohs(a->sin6_port);
    }
    lo_address src = port != 0 ? lo_address_new(host, std::to_string(port).c_str()) : nullptr;
    if (!admits(src)) {
        log::debug("osc: dropped a packet from ", host, ", not allowed");
    } else if (const std::string why = malformedReason(data.data(), data.size()); !why.empty()) {
        // liblo would drop an invalid packet without a word; its sender deserves a /fail.
        ++malformed_;
        log::debug("osc: malformed packet from ", host, ":", port, ": ", why);
        if (src) {
            lo_message m = build({readableAddress(data.data(), data.size()), "malformed OSC packet: " + why});
            lo_send_message_from(src, static_cast<lo_server>(udp_), "/fail", m);
            lo_message_free(m);
        }
    } else {
        dispatching_ = src;
        lo_server_dispatch_data(static_cast<lo_server>(udp_), const_cast<char *>(data.data()), data.size());
        dispatching_ = nullptr;
    }
    if (src)
        lo_address_free(src);
}

bool Server::reply(const Message &msg, std::string_view address, const std::vector<Arg> &args)
{
    auto src = static_cast<lo_address>(msg.sender);
    if (!src)
        return false;
    lo_message m = build(args);
    const std::string path(address);
    // TCP: the source address carries the accepted connection, so this writes back over
    // it (measured to work when the caller polls; a new connection to the peer's
    // ephemeral port is refused). UDP: from our UDP socket, so the sender sees our port.
    auto *from = static_cast<lo_server>(msg.protocol == Protocol::Tcp ? tcp_ : udp_);
    if (msg.protocol == Protocol::Tcp)
        enableNoDelay(src);
    const int r = lo_send_message_from(src, from, path.c_str(), m);
    lo_message_free(m);
    if (r < 0)
        log::debug("osc: reply ", path, " to ", msg.senderUrl, " failed");
    return r >= 0;
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
