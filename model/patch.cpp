#include "model/patch.hpp"

#include "model/module_spec.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <sstream>

namespace chronus::model {

using nlohmann::json;

namespace {

// "line 3, column 7: syntax error while parsing object - unexpected '}'; expected string
// literal": the place counted from nlohmann's byte offset, the reason from its message.
std::string parseErrorText(std::string_view text, const json::parse_error &e)
{
    // e.byte counts the characters read, up to and including the one that failed.
    const std::size_t at = std::min<std::size_t>(e.byte > 0 ? e.byte - 1 : 0, text.size());
    const std::string_view before = text.substr(0, at);
    const auto line = 1 + std::count(before.begin(), before.end(), '\n');
    const std::size_t lastNewline = before.rfind('\n');
    const std::size_t column = lastNewline == std::string_view::npos ? at + 1 : at - lastNewline;
    std::string reason = e.what();
    if (const auto p = reason.find("parse error"); p != std::string::npos)
        if (const auto colon = reason.find(": ", p); colon != std::string::npos)
            reason.erase(0, colon + 2);
    return "line " + std::to_string(line) + ", column " + std::to_string(column) + ": " + reason;
}

// The name of parameter `name` of a module of type `type`, or `name` itself when the type
// or the parameter is unknown (compile() reports those).
std::string canonicalName(const ModuleSpec *type, const std::string &name)
{
    if (!type)
        return name;
    if (const int p = type->findParam(name); p >= 0)
        return type->params[p].name;
    if (const int t = type->findTextParam(name); t >= 0)
        return type->textParams[t].name;
    return name;
}

} // namespace

void PatchSpec::Node::set(const std::string &name, ParamValue value)
{
    const ModuleSpec *spec = findModule(type);
    std::string canonical = canonicalName(spec, name);
    for (auto &[n, v] : params) {
        if (canonicalName(spec, n) == canonical) {
            n = std::move(canonical);
            v = std::move(value);
            return;
        }
    }
    params.emplace_back(std::move(canonical), std::move(value));
}

void PatchSpec::canonicalize()
{
    for (auto &node : nodes) {
        auto given = std::move(node.params);
        node.params.clear();
        for (auto &[name, value] : given)
            node.set(name, std::move(value));
        if (node.voice) {
            auto voice = std::make_shared<PatchSpec>(*node.voice);
            voice->canonicalize();
            node.voice = std::move(voice);
        }
    }
}

const PatchSpec::Buffer *PatchSpec::findBuffer(std::string_view name) const
{
    for (const auto &b : buffers)
        if (b.name == name)
            return &b;
    return nullptr;
}

PatchSpec::Node *PatchSpec::findNode(std::string_view id)
{
    for (auto &node : nodes)
        if (node.id == id)
            return &node;
    return nullptr;
}

const PatchSpec::Node *PatchSpec::findNode(std::string_view id) const
{
    return const_cast<PatchSpec *>(this)->findNode(id);
}

namespace {

using OrderedJson = nlohmann::ordered_json;

json toJsonValue(const PatchSpec &spec)
{
    json doc;
    doc["nodes"] = json::array();
    for (const auto &node : spec.nodes) {
        json params = json::object();
        for (const auto &[name, value] : node.params) {
            if (const double *number = std::get_if<double>(&value))
                params[name] = *number;
            else
                params[name] = std::get<std::string>(value);
        }
        json n = {{"id", node.id}, {"type", node.type}, {"params", params}};
        if (node.voice)
            n["voice"] = toJsonValue(*node.voice);
        doc["nodes"].push_back(std::move(n));
    }
    doc["connections"] = json::array();
    for (const auto &c : spec.connections) {
        json edge = {{"from", c.from}, {"to", c.to}};
        if (c.depth != 1.0)
            edge["depth"] = c.depth;
        doc["connections"].push_back(edge);
    }
    if (!spec.buffers.empty()) {
        json buffers = json::object();
        for (const auto &b : spec.buffers)
            buffers[b.name] = {{"file", b.file}, {"hash", b.hash}};
        doc["buffers"] = std::move(buffers);
    }
    if (spec.tempo != 120.0)
        doc["tempo"] = spec.tempo;
    if (spec.meterBeats != 4 || spec.meterUnit != 4)
        doc["meter"] = {spec.meterBeats, spec.meterUnit};
    if (!spec.stems.empty())
        doc["stems"] = spec.stems;
    if (!spec.midiBinds.empty() || !spec.midiMaps.empty()) {
        json midi = json::object();
        json bind = json::object();
        for (const auto &b : spec.midiBinds)
            bind[b.poly] = b.channel == 0 ? json("all") : b.channel < 0 ? json("none") : json(b.channel);
        json maps = json::array();
        for (const auto &m : spec.midiMaps)
            maps.push_back({{"cc", m.cc}, {"to", m.to}, {"min", m.min}, {"max", m.max}});
        midi["bind"] = std::move(bind);
        midi["maps"] = std::move(maps);
        doc["midi"] = std::move(midi);
    }
    return doc;
}

Expected<PatchSpec> fromJsonValue(const OrderedJson &doc, std::string_view baseDir, int depth);

// A node's "voice": a template inline, as JSON text, or in a file.
Expected<std::shared_ptr<const PatchSpec>> voiceTemplate(const std::string &id, const OrderedJson &value,
                                                         std::string_view baseDir, int depth)
{
    const std::string where = "node '" + id + "': voice template";
    if (depth > 0)
        return fail(where + ": a template cannot hold another poly's template");
    OrderedJson doc = value;
    if (value.is_string()) {
        const std::string source = value.get<std::string>();
        std::string text = source;
        if (source.empty() || source.front() != '{') {
            std::string path = source;
            if (!baseDir.empty() && !source.starts_with('/'))
                path = std::string(baseDir) + "/" + source;
            std::ifstream in(path);
            if (!in)
                return fail(where + ": cannot read file '" + path + "'");
            std::ostringstream all;
            all << in.rdbuf();
            text = all.str();
        }
        try {
            doc = OrderedJson::parse(text);
        } catch (const json::parse_error &e) {
            return fail(where + " is not valid JSON: " + parseErrorText(text, e));
        }
    }
    if (!doc.is_object())
        return fail(where + " must be a patch (an object with \"nodes\" and \"connections\") or a file name");
    auto spec = fromJsonValue(doc, baseDir, depth + 1);
    if (!spec)
        return fail(where + ": " + spec.error());
    return std::make_shared<const PatchSpec>(std::move(*spec));
}

Expected<void> midiFromJson(const OrderedJson &midi, PatchSpec &spec)
{
    if (!midi.is_object())
        return fail("patch \"midi\" must be an object with \"bind\" and \"maps\"");
    if (midi.contains("bind")) {
        if (!midi["bind"].is_object())
            return fail("patch \"midi\".\"bind\" must be an object: {\"poly\": \"all\" or 1..16}");
        for (const auto &[poly, channel] : midi["bind"].items()) {
            int ch = -2;
            if (channel.is_string() && channel.get<std::string>() == "all")
                ch = 0;
            else if (channel.is_string() && channel.get<std::string>() == "none")
                ch = -1;
            else if (channel.is_number_integer() && channel.get<int>() >= 1)
                ch = channel.get<int>();
            if (ch < -1 || ch > 16)
                return fail("midi bind '" + poly + "': channel must be \"all\", \"none\" or 1..16");
            spec.midiBinds.push_back({poly, ch});
        }
    }
    if (midi.contains("maps")) {
        if (!midi["maps"].is_array())
            return fail("patch \"midi\".\"maps\" must be an array");
        for (const auto &m : midi["maps"]) {
            if (!m.is_object() || !m.contains("cc") || !m["cc"].is_number_integer() || !m.contains("to") ||
                !m["to"].is_string())
                return fail("a midi map needs \"cc\" (0..127) and \"to\" (node.param)");
            PatchSpec::MidiMap map;
            map.cc = m["cc"].get<int>();
            map.to = m["to"].get<std::string>();
            if (map.cc < 0 || map.cc > 127)
                return fail("midi map to '" + map.to + "': cc must be 0..127");
            if (m.contains("min") && m["min"].is_number())
                map.min = m["min"].get<double>();
            if (m.contains("max") && m["max"].is_number())
                map.max = m["max"].get<double>();
            spec.midiMaps.push_back(std::move(map));
        }
    }
    return {};
}

Expected<PatchSpec> fromJsonValue(const OrderedJson &doc, std::string_view baseDir, int depth)
{
    if (!doc.is_object())
        return fail("patch must be a JSON object with \"nodes\" and \"connections\"");

    PatchSpec spec;
    if (doc.contains("nodes")) {
        if (!doc["nodes"].is_array())
            return fail("patch \"nodes\" must be an array");
        std::size_t index = 0;
        for (const auto &n : doc["nodes"]) {
            const std::string where = "node #" + std::to_string(index++);
            if (!n.is_object() || !n.contains("id") || !n["id"].is_string() || !n.contains("type") ||
                !n["type"].is_string())
                return fail(where + " needs string fields \"id\" and \"type\"");
            PatchSpec::Node node;
            node.id = n["id"].get<std::string>();
            node.type = n["type"].get<std::string>();
            if (n.contains("params")) {
                if (!n["params"].is_object())
                    return fail("node '" + node.id + "': \"params\" must be an object");
                for (const auto &[name, value] : n["params"].items()) {
                    if (value.is_number())
                        node.set(name, value.get<double>());
                    else if (value.is_boolean())
                        node.set(name, value.get<bool>() ? 1.0 : 0.0);
                    else if (value.is_string())
                        node.set(name, value.get<std::string>());
                    else
                        return fail("node '" + node.id + "': parameter '" + name + "' must be a number or a string");
                }
            }
            if (n.contains("voice")) {
                auto voice = voiceTemplate(node.id, n["voice"], baseDir, depth);
                if (!voice)
                    return fail(voice.error());
                node.voice = std::move(*voice);
            }
            spec.nodes.push_back(std::move(node));
        }
    }
    if (doc.contains("connections")) {
        if (!doc["connections"].is_array())
            return fail("patch \"connections\" must be an array");
        std::size_t index = 0;
        for (const auto &c : doc["connections"]) {
            const std::string where = "connection #" + std::to_string(index++);
            PatchSpec::Connection edge;
            if (c.is_array() && c.size() >= 2 && c[0].is_string() && c[1].is_string()) {
                edge.from = c[0].get<std::string>();
                edge.to = c[1].get<std::string>();
                if (c.size() >= 3 && c[2].is_number())
                    edge.depth = c[2].get<double>();
            } else if (c.is_object() && c.contains("from") && c["from"].is_string() && c.contains("to") &&
                       c["to"].is_string()) {
                edge.from = c["from"].get<std::string>();
                edge.to = c["to"].get<std::string>();
                if (c.contains("depth")) {
                    if (!c["depth"].is_number())
                        return fail(where + ": \"depth\" must be a number");
                    edge.depth = c["depth"].get<double>();
                }
            } else {
                return fail(where + " needs string fields \"from\" and \"to\"");
            }
            spec.connections.push_back(std::move(edge));
        }
    }
    if (doc.contains("midi"))
        if (auto midi = midiFromJson(doc["midi"], spec); !midi)
            return fail(midi.error());
    if (doc.contains("buffers")) {
        if (!doc["buffers"].is_object())
            return fail("patch \"buffers\" must be an object: {\"name\": {\"file\": ..., \"hash\": ...}}");
        for (const auto &[name, b] : doc["buffers"].items()) {
            if (!b.is_object() || !b.contains("file") || !b["file"].is_string())
                return fail("buffer '" + name + "' needs a \"file\"");
            PatchSpec::Buffer buffer{name, b["file"].get<std::string>(), ""};
            if (b.contains("hash") && b["hash"].is_string())
                buffer.hash = b["hash"].get<std::string>();
            if (!baseDir.empty() && !buffer.file.empty() && buffer.file.front() != '/')
                buffer.file = std::string(baseDir) + "/" + buffer.file;
            spec.buffers.push_back(std::move(buffer));
        }
    }
    if (doc.contains("tempo")) {
        if (!doc["tempo"].is_number() || !(doc["tempo"].get<double>() >= 1.0 && doc["tempo"].get<double>() <= 999.0))
            return fail("patch \"tempo\" must be a number of BPM from 1 to 999");
        spec.tempo = doc["tempo"].get<double>();
    }
    if (doc.contains("meter")) {
        const auto &m = doc["meter"];
        if (!m.is_array() || m.size() != 2 || !m[0].is_number_integer() || !m[1].is_number_integer() ||
            m[0].get<int>() < 1 || m[0].get<int>() > 64 ||
            (m[1].get<int>() != 1 && m[1].get<int>() != 2 && m[1].get<int>() != 4 && m[1].get<int>() != 8 &&
             m[1].get<int>() != 16))
            return fail("patch \"meter\" must be [beats 1..64, unit 1|2|4|8|16], e.g. [4, 4] or [6, 8]");
        spec.meterBeats = m[0].get<int>();
        spec.meterUnit = m[1].get<int>();
    }
    if (doc.contains("stems")) {
        const auto &list = doc["stems"];
        if (!list.is_array())
            return fail("patch \"stems\" must be a list of node ids, e.g. [\"drums\", \"bass\"]");
        for (const auto &id : list) {
            if (!id.is_string())
                return fail("patch \"stems\" must be a list of node ids, e.g. [\"drums\", \"bass\"]");
            spec.stems.push_back(id.get<std::string>());
        }
    }
    return spec;
}

} // namespace

std::string PatchSpec::toJson(int indent) const { return toJsonValue(*this).dump(indent); }

Expected<PatchSpec> PatchSpec::fromJson(std::string_view text, std::string_view baseDir)
{
    // Parsed keeping the file's key order: of two names for one parameter the later wins.
    OrderedJson doc;
    try {
        doc = OrderedJson::parse(text);
    } catch (const json::parse_error &e) {
        return fail("patch is not valid JSON: " + parseErrorText(text, e));
    }
    return fromJsonValue(doc, baseDir, 0);
}

} // namespace chronus::model
