#include "model/describe.hpp"

#include "model/module_spec.hpp"

#include <nlohmann/json.hpp>

#include <charconv>

namespace chronus::model {

namespace {

std::string number(float v)
{
    char buf[32];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    return std::string(buf, end);
}

std::string joined(const std::vector<std::string> &items, const char *sep = ", ")
{
    std::string out;
    for (const auto &s : items)
        out += (out.empty() ? "" : sep) + s;
    return out;
}

template <typename Ports>
std::string portList(const Ports &ports)
{
    std::vector<std::string> names;
    for (const auto &p : ports)
        names.push_back("`" + p.name + "`");
    return names.empty() ? "–" : joined(names);
}

std::string cell(std::string text)
{
    for (std::size_t at = text.find('|'); at != std::string::npos; at = text.find('|', at + 2))
        text.replace(at, 1, "\\|");
    return text;
}

} // namespace

std::string catalogueJson(int indent)
{
    nlohmann::json doc = nlohmann::json::array();
    for (const auto &m : moduleCatalogue()) {
        nlohmann::json type = {{"type", m.type}, {"aliases", m.aliases}, {"description", m.description}};
        type["inputs"] = nlohmann::json::array();
        for (const auto &p : m.inputs)
            type["inputs"].push_back({{"name", p.name}, {"description", p.description}});
        type["outputs"] = nlohmann::json::array();
        for (const auto &p : m.outputs)
            type["outputs"].push_back({{"name", p.name}, {"description", p.description}});
        type["params"] = nlohmann::json::array();
        for (const auto &p : m.params) {
            nlohmann::json param = {{"name", p.name},     {"type", paramTypeName(p.type)}, {"min", p.min},
                                    {"max", p.max},       {"default", p.def},            {"unit", p.unit},
                                    {"smoothing_ms", p.smoothingMs}, {"aliases", p.aliases},
                                    {"description", p.description}};
            if (!p.choices.empty())
                param["choices"] = p.choices;
            type["params"].push_back(param);
        }
        for (const auto &t : m.textParams)
            type["params"].push_back({{"name", t.name}, {"type", "text"}, {"max_values", t.maxElements},
                                      {"description", t.description}, {"example", t.example}});
        doc.push_back(type);
    }
    return doc.dump(indent);
}

std::string catalogueMarkdown()
{
    std::string md = "| type | what it does | inputs | outputs |\n| --- | --- | --- | --- |\n";
    for (const auto &m : moduleCatalogue()) {
        std::string name = "`" + m.type + "`";
        if (!m.aliases.empty()) {
            std::vector<std::string> aliases;
            for (const auto &a : m.aliases)
                aliases.push_back("`" + a + "`");
            name += " (" + joined(aliases) + ")";
        }
        md += "| " + name + " | " + cell(m.description) + " | " + portList(m.inputs) + " | " + portList(m.outputs) +
              " |\n";
    }
    for (const auto &m : moduleCatalogue()) {
        md += "\n#### `" + m.type + "`\n\n| parameter | type | range | default | unit | description |\n"
              "| --- | --- | --- | --- | --- | --- |\n";
        for (const auto &p : m.params) {
            std::string name = "`" + p.name + "`";
            for (const auto &a : p.aliases)
                name += " `" + a + "`";
            std::string range = p.type == ParamType::Enum ? joined(p.choices, " / ")
                                : p.type == ParamType::Bool ? "on / off"
                                                            : number(p.min) + " – " + number(p.max);
            std::string def = p.type == ParamType::Enum && static_cast<std::size_t>(p.def) < p.choices.size()
                                  ? p.choices[static_cast<std::size_t>(p.def)]
                              : p.type == ParamType::Bool ? (p.def >= 0.5f ? "on" : "off")
                                                          : number(p.def);
            md += "| " + name + " | " + paramTypeName(p.type) + " | " + cell(range) + " | " + def + " | " + p.unit +
                  " | " + cell(p.description) + " |\n";
        }
        for (const auto &t : m.textParams)
            md += "| `" + t.name + "` | text | up to " + std::to_string(t.maxElements) + " values | | | " +
                  cell(t.description) + (t.example.empty() ? "" : " (e.g. `" + t.example + "`)") + " |\n";
    }
    return md;
}

} // namespace chronus::model
