#include "model/script.hpp"

#include "common/parse.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>

namespace chronus::model {

namespace {

// Splits a line into tokens; quoted tokens keep spaces and are marked as strings.
struct Token {
    std::string text;
    bool quoted = false;
};

Expected<std::vector<Token>> tokenize(std::string_view line)
{
    std::vector<Token> tokens;
    std::size_t i = 0;
    while (i < line.size()) {
        if (std::isspace(static_cast<unsigned char>(line[i]))) {
            ++i;
            continue;
        }
        if (line[i] == '#')
            break;
        Token t;
        if (line[i] == '"') {
            t.quoted = true;
            ++i;
            bool closed = false;
            while (i < line.size()) {
                if (line[i] == '\\' && i + 1 < line.size()) {
                    t.text += line[i + 1];
                    i += 2;
                    continue;
                }
                if (line[i] == '"') {
                    closed = true;
                    ++i;
                    break;
                }
                t.text += line[i++];
            }
            if (!closed)
                return fail("unterminated quote");
        } else {
            while (i < line.size() && !std::isspace(static_cast<unsigned char>(line[i])))
                t.text += line[i++];
        }
        tokens.push_back(std::move(t));
    }
    return tokens;
}

Arg typedArg(const Token &t) { return t.quoted ? Arg(t.text) : typedWord(t.text); }

bool needsQuotes(const std::string &s)
{
    if (s.empty())
        return true;
    for (char c : s)
        if (std::isspace(static_cast<unsigned char>(c)) || c == '"' || c == '#' || c == '\\')
            return true;
    // A string that reads as a number must stay a string.
    return !std::holds_alternative<std::string>(typedArg(Token{s, false}));
}

} // namespace

Arg typedWord(std::string_view word)
{
    long long integer = 0;
    if (parseWhole(word, integer) && integer >= std::numeric_limits<std::int32_t>::min() &&
        integer <= std::numeric_limits<std::int32_t>::max())
        return static_cast<std::int32_t>(integer);
    float number = 0;
    if (parseWhole(word, number) && std::isfinite(number))
        return number;
    return std::string(word);
}

Expected<std::vector<ScriptCommand>> parseScript(std::string_view text, double sampleRate, std::string_view sourceName)
{
    std::vector<ScriptCommand> commands;
    int lineNumber = 0;
    std::size_t start = 0;
    while (start <= text.size()) {
        std::size_t end = text.find('\n', start);
        if (end == std::string_view::npos)
            end = text.size();
        const std::string_view line = text.substr(start, end - start);
        ++lineNumber;
        start = end + 1;
        auto tokens = tokenize(line);
        const std::string where = sourceName.empty()
                                      ? "line " + std::to_string(lineNumber) + ": "
                                      : std::string(sourceName) + ":" + std::to_string(lineNumber) + ": error: ";
        if (!tokens)
            return fail(where + tokens.error());
        if (tokens->empty())
            continue;
        if (tokens->size() < 2)
            return fail(where + "expected <time> <address> [args...]");
        ScriptCommand cmd;
        cmd.line = lineNumber;
        const std::string &time = (*tokens)[0].text;
        if (!time.empty() && time[0] == '@') {
            std::uint64_t frame = 0;
            if (!parseWhole(std::string_view(time).substr(1), frame))
                return fail(where + "time '" + time + "' is not a frame number after '@'");
            cmd.frame = frame;
        } else {
            double seconds = 0;
            if (!parseWhole(time, seconds) || !std::isfinite(seconds) || seconds < 0)
                return fail(where + "time '" + time + "' is not a number of seconds (or @frame)");
            cmd.frame = static_cast<std::uint64_t>(std::llround(seconds * sampleRate));
        }
        cmd.address = (*tokens)[1].text;
        if (cmd.address.empty() || cmd.address[0] != '/')
            return fail(where + "address '" + cmd.address + "' must start with '/'");
        for (std::size_t i = 2; i < tokens->size(); ++i)
            cmd.args.push_back(typedArg((*tokens)[i]));
        commands.push_back(std::move(cmd));
        if (end == text.size())
            break;
    }
    std::stable_sort(commands.begin(), commands.end(),
                     [](const ScriptCommand &a, const ScriptCommand &b) { return a.frame < b.frame; });
    return commands;
}

std::string formatScriptLine(std::uint64_t frame, std::string_view address, const std::vector<Arg> &args)
{
    std::string line = "@" + std::to_string(frame) + " " + std::string(address);
    for (const auto &a : args) {
        line += ' ';
        if (const auto *i = std::get_if<std::int32_t>(&a)) {
            line += std::to_string(*i);
        } else if (const auto *f = std::get_if<float>(&a)) {
            char buf[32];
            auto [end, ec] = std::to_chars(buf, buf + sizeof buf, *f); // shortest round-trip form
            std::string text(buf, end);
            // Keep it a float when read back: "2" would come back as an integer.
            if (text.find_first_of(".eEn") == std::string::npos)
                text += ".0";
            line += text;
        } else {
            const auto &s = std::get<std::string>(a);
            if (!needsQuotes(s)) {
                line += s;
                continue;
            }
            line += '"';
            for (char c : s) {
                if (c == '"' || c == '\\')
                    line += '\\';
                line += c == '\n' ? ' ' : c;
            }
            line += '"';
        }
    }
    return line;
}

} // namespace chronus::model
