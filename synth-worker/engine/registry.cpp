#include "synth-worker/engine/module.hpp"

#include "common/parse.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <mutex>

namespace chronus::engine {

namespace {

struct Catalogue {
    std::vector<ModuleSpec (*)()> makers;
    std::vector<ModuleSpec> specs;
    bool built = false;
};

Catalogue &catalogue()
{
    static Catalogue c;
    return c;
}

std::once_flag buildOnce;

bool equalsIgnoreCase(std::string_view a, std::string_view b)
{
    return a.size() == b.size() &&
           std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
}

std::string formatNumber(double v)
{
    char buf[32];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    return ec == std::errc() ? std::string(buf, end) : std::string("?");
}

} // namespace

const char *paramTypeName(ParamType type)
{
    switch (type) {
    case ParamType::Float: return "float";
    case ParamType::Int: return "int";
    case ParamType::Bool: return "bool";
    case ParamType::Enum: return "enum";
    }
    return "?";
}

Expected<float> ParamSpec::fromNumber(double value, bool *clamped) const
{
    if (!std::isfinite(value))
        return fail("parameter '" + name + "' needs a finite number");
    if (type == ParamType::Int || type == ParamType::Enum)
        value = std::round(value);
    if (type == ParamType::Bool)
        value = value >= 0.5 ? 1.0 : 0.0;
    if (type == ParamType::Enum && (value < 0 || value >= static_cast<double>(choices.size()))) {
        std::string names;
        for (std::size_t i = 0; i < choices.size(); ++i)
            names += (i ? ", " : "") + choices[i] + "=" + std::to_string(i);
        return fail("parameter '" + name + "' has no choice " + formatNumber(value) + " (choices: " + names + ")");
    }
    const double lo = min, hi = max;
    const double c = std::clamp(value, lo, hi);
    if (clamped)
        *clamped = c != value;
    return static_cast<float>(c);
}

Expected<float> ParamSpec::fromText(std::string_view text, bool *clamped) const
{
    if (type == ParamType::Enum) {
        for (std::size_t i = 0; i < choices.size(); ++i)
            if (equalsIgnoreCase(text, choices[i]))
                return static_cast<float>(i);
    }
    if (type == ParamType::Bool) {
        for (auto word : {"on", "true", "yes", "1"})
            if (equalsIgnoreCase(text, word))
                return 1.0f;
        for (auto word : {"off", "false", "no", "0"})
            if (equalsIgnoreCase(text, word))
                return 0.0f;
        return fail("parameter '" + name + "' takes on/off, true/false or 1/0, not '" + std::string(text) + "'");
    }
    if (double number = 0; parseWhole(text, number))
        return fromNumber(number, clamped);
    if (type == ParamType::Enum) {
        std::string names;
        for (std::size_t i = 0; i < choices.size(); ++i)
            names += (i ? ", " : "") + choices[i];
        return fail("parameter '" + name + "' has no choice '" + std::string(text) + "' (choices: " + names + ")");
    }
    return fail("parameter '" + name + "' needs a number, not '" + std::string(text) + "'");
}

int ModuleSpec::findParam(std::string_view name) const
{
    for (std::size_t i = 0; i < params.size(); ++i) {
        if (params[i].name == name)
            return static_cast<int>(i);
        for (const auto &alias : params[i].aliases)
            if (alias == name)
                return static_cast<int>(i);
    }
    return -1;
}

int ModuleSpec::findTextParam(std::string_view name) const
{
    for (std::size_t i = 0; i < textParams.size(); ++i)
        if (textParams[i].name == name)
            return static_cast<int>(i);
    return -1;
}

int ModuleSpec::findInput(std::string_view name) const
{
    for (std::size_t i = 0; i < inputs.size(); ++i)
        if (inputs[i].name == name)
            return static_cast<int>(i);
    return -1;
}

int ModuleSpec::findOutput(std::string_view name) const
{
    for (std::size_t i = 0; i < outputs.size(); ++i)
        if (outputs[i].name == name)
            return static_cast<int>(i);
    return -1;
}

bool registerModule(ModuleSpec (*makeSpec)())
{
    catalogue().makers.push_back(makeSpec);
    return true;
}

const std::vector<ModuleSpec> &moduleCatalogue()
{
    std::call_once(buildOnce, [] {
        auto &c = catalogue();
        for (auto make : c.makers)
            c.specs.push_back(make());
        std::sort(c.specs.begin(), c.specs.end(),
                  [](const ModuleSpec &a, const ModuleSpec &b) { return a.type < b.type; });
    });
    return catalogue().specs;
}

const ModuleSpec *findModule(std::string_view typeOrAlias)
{
    for (const auto &spec : moduleCatalogue()) {
        if (spec.type == typeOrAlias)
            return &spec;
        for (const auto &alias : spec.aliases)
            if (alias == typeOrAlias)
                return &spec;
    }
    return nullptr;
}

} // namespace chronus::engine
