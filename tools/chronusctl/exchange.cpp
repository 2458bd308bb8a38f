#include "tools/chronusctl/exchange.hpp"

#include "model/script.hpp"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <iostream>

namespace chronus::ctl {

volatile std::sig_atomic_t stopRequested = 0;

using nlohmann::json;
using osc::Arg;
using osc::Message;

namespace {

json argJson(const Arg &a)
{
    return std::visit(
        [](const auto &v) -> json {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, std::monostate>)
                return nullptr;
            else if constexpr (std::is_same_v<T, osc::Blob>)
                return json::binary(v);
            else
                return v;
        },
        a);
}

// True for replies made of (string key, value) pairs, like /status.reply.
bool isKeyValueList(const Message &m)
{
    if (m.args.empty() || m.args.size() % 2 != 0 || m.address.size() < 6 ||
        m.address.compare(m.address.size() - 6, 6, ".reply") != 0)
        return false;
    for (std::size_t i = 0; i < m.args.size(); i += 2)
        if (!std::holds_alternative<std::string>(m.args[i]))
            return false;
    return true;
}

void printJson(const Message &m, bool keyValues)
{
    json out = {{"address", m.address}, {"args", json::array()}};
    for (const auto &a : m.args)
        out["args"].push_back(argJson(a));
    if (keyValues) {
        out["values"] = json::object();
        for (std::size_t i = 0; i < m.args.size(); i += 2)
            out["values"][std::get<std::string>(m.args[i])] = argJson(m.args[i + 1]);
    }
    // A reply that carries one JSON document is given as parsed JSON too.
    for (const auto &a : m.args)
        if (const auto *s = std::get_if<std::string>(&a); s && !s->empty() && (s->front() == '{' || s->front() == '['))
            if (json doc = json::parse(*s, nullptr, false); !doc.is_discarded())
                out["json"] = doc;
    std::cout << out.dump() << "\n";
}

bool isReplyTo(const Message &m, const std::string &address)
{
    if ((m.address == "/done" || m.address == "/fail") && m.stringAt(0) == address)
        return true;
    if (m.address == address + ".reply")
        return true;
    return (address == "/ping" && m.address == "/pong") || (address == "/sync" && m.address == "/synced");
}

std::chrono::milliseconds leftUntil(std::chrono::steady_clock::time_point deadline)
{
    return std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
}

} // namespace

Arg typed(const std::string &text)
{
    return std::visit([](const auto &v) -> Arg { return v; }, model::typedWord(text));
}

std::string argText(const Arg &arg)
{
    const json j = argJson(arg);
    return j.is_string() ? j.get<std::string>() : j.dump();
}

void print(const Message &m, const Options &o)
{
    const bool keyValues = isKeyValueList(m);
    if (o.asJson) {
        printJson(m, keyValues);
        return;
    }
    if (keyValues) {
        std::cout << m.address << "\n";
        for (std::size_t i = 0; i < m.args.size(); i += 2)
            std::cout << "  " << std::get<std::string>(m.args[i]) << ": " << argText(m.args[i + 1]) << "\n";
        return;
    }
    std::string line = m.address;
    for (const auto &a : m.args) {
        const auto *s = std::get_if<std::string>(&a);
        if (s && !s->empty() && (s->front() == '{' || s->front() == '[')) {
            if (json doc = json::parse(*s, nullptr, false); !doc.is_discarded()) {
                std::cout << line << "\n" << doc.dump(2) << "\n";
                line.clear();
                continue;
            }
        }
        line += (line.empty() ? "" : " ") + argText(a);
    }
    if (!line.empty())
        std::cout << line << "\n";
}

int request(osc::Client &client, const Options &o, const std::string &address, const std::vector<Arg> &args,
            Message *replyOut, bool quiet)
{
    if (!client.send(address, args)) {
        std::fprintf(stderr, "chronusctl: cannot send to %s:%d\n", o.host.c_str(), o.port);
        return 3;
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(o.timeoutMs);
    while (!stopRequested) {
        const auto left = leftUntil(deadline);
        if (left.count() <= 0)
            break;
        auto m = client.receive(static_cast<int>(left.count()));
        if (!m || !isReplyTo(*m, address))
            continue;
        if (!quiet)
            print(*m, o);
        if (replyOut)
            *replyOut = *m;
        if (m->address == "/fail") {
            if (!quiet && !o.asJson)
                std::fprintf(stderr, "chronusctl: %s failed: %s\n", address.c_str(),
                             m->args.size() > 1 ? argText(m->args.back()).c_str() : "no reason given");
            return 1;
        }
        return 0;
    }
    std::fprintf(stderr, "chronusctl: no reply to %s from %s:%d within %.1f s (is chronus-supervisor running?)\n",
                 address.c_str(), o.host.c_str(), o.port, o.timeoutMs / 1000.0);
    return 3;
}

int sendRaw(osc::Client &client, const Options &o, const std::string &address, const std::vector<Arg> &args)
{
    if (!client.send(address, args))
        return 3;
    int status = 3;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(o.timeoutMs);
    while (!stopRequested) {
        const auto left = leftUntil(deadline);
        if (left.count() <= 0)
            break;
        auto m = client.receive(static_cast<int>(std::min<long>(left.count(), 300)));
        if (!m) {
            if (status != 3)
                break; // replies came and then stopped: done
            continue;
        }
        print(*m, o);
        if (status != 1)
            status = m->address == "/fail" ? 1 : 0;
    }
    if (status == 3)
        std::fprintf(stderr, "chronusctl: no reply to %s within %.1f s\n", address.c_str(), o.timeoutMs / 1000.0);
    return status;
}

int drainUntil(osc::Client &client, const Options &o, std::chrono::steady_clock::time_point until)
{
    int status = 0;
    while (!stopRequested && std::chrono::steady_clock::now() < until) {
        if (auto m = client.receive(10); m && m->address == "/fail") {
            print(*m, o);
            status = 1;
        }
    }
    return status;
}

} // namespace chronus::ctl
