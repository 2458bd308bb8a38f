// The command line of every Chronus program, read the same way (CLI11 underneath):
//   --help        usage, description, the options (each with the environment variable it
//                 falls back to) and the program's notes on stdout; exit status 0.
//   usage errors  "<program>: <message> (try --help)", one line on stderr; exit status 2.
//   --config FILE an INI file of `long-option = value` lines, named like the long options
//                 without their dashes (a switch takes `true`; several values are separated
//                 by spaces or commas; lines starting with '#' or ';' are comments).
//   precedence    the command line, then the config file, then the option's environment
//                 variable, then the default.
// Each value option says what it needs ("a port number between 1 and 65535"), which is also
// its error when the value is missing or refused: "--osc-port needs a port number ...".
// Start-up only, on the main thread.
#pragma once

#include "common/expected.hpp"
#include "common/parse.hpp"

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace CLI {
class App;
class Option;
class ParseError;
} // namespace CLI

namespace chronus::cli {

// Whether a value read from the command line is acceptable.
template <typename T>
using Accept = std::function<bool(const T &)>;
// Turns an option's text into its value or says why not; the error reads "--name: <why>".
template <typename T>
using Convert = std::function<Expected<T>(const std::string &)>;

// Accepts lo <= value <= hi.
template <typename T>
Accept<T> between(T lo, T hi)
{
    return [lo, hi](const T &v) { return v >= lo && v <= hi; };
}
// Accepts exactly one of `choices`.
Accept<std::string> oneOf(std::vector<std::string> choices);
// Accepts 1 to maxChars characters, none of them in `forbidden`.
Accept<std::string> name(std::size_t maxChars, std::string forbidden = {});

// A declared option: refine it while declaring, ask about it after parse(). A handle, valid
// as long as the CommandLine that made it.
class Option {
public:
    // Falls back to environment variable `name` when neither the command line nor the config
    // file gives a value. --help shows it.
    Option env(const std::string &name);
    // parse() fails ("--name is required") without it.
    Option required();
    // The value may be left out (--name alone, or followed by another option); it is then
    // `otherwise`.
    Option valueOptional(const std::string &otherwise);
    // Whether it was given, on the command line, in the config file or by the environment.
    bool given() const;

private:
    friend class CommandLine;
    explicit Option(CLI::Option *option) : option_(option) {}
    CLI::Option *option_;
};

class CommandLine {
public:
    // `program` starts every error line; `synopsis` is the usage line of --help
    // ("chronus-render [options] --duration S -o OUT.wav"); `description` says what the
    // program does; `notes` end --help (environment, OSC, service and session notes).
    CommandLine(std::string program, std::string synopsis, std::string description, std::string notes = {});
    ~CommandLine();

    // --name VALUE read into `target`: numbers must parse whole as T, strings are taken as
    // given; then `accept` (if any) must agree. Given twice, the last one counts.
    // `names` like "-o,--output"; `metavar` names the value in --help ("FILE").
    template <typename T>
    Option value(const std::string &names, const std::string &metavar, T &target, const std::string &help,
                 const std::string &needs, Accept<T> accept = {})
    {
        return add(names, metavar, help, needs, false, [&target, accept](const std::string &text) -> Expected<void> {
            T v{};
            if (!readText(text, v) || (accept && !accept(v)))
                return fail(""); // the error is "--name needs <needs>"
            target = std::move(v);
            return {};
        });
    }
    // --name VALUE turned into `target` by `convert`; its reason is the error ("--name: <why>"),
    // `needs` the error for a missing value.
    template <typename T>
    Option converted(const std::string &names, const std::string &metavar, T &target, const std::string &help,
                     const std::string &needs, Convert<T> convert)
    {
        return add(names, metavar, help, needs, false, [&target, convert](const std::string &text) -> Expected<void> {
            auto v = convert(text);
            if (!v)
                return fail(v.error());
            target = std::move(*v);
            return {};
        });
    }
    // --name VALUE...: one or more values (up to the next option), appended to `target`;
    // the option may be given more than once.
    Option list(const std::string &names, const std::string &metavar, std::vector<std::string> &target,
                const std::string &help, const std::string &needs);
    // --name without a value sets `target` to true.
    Option flag(const std::string &names, bool &target, const std::string &help);
    // --name without a value; given() says whether it was.
    Option flag(const std::string &names, const std::string &help);
    // The first word that is not an option and everything after it go to `words` unparsed
    // (chronusctl's command and its arguments). Without this, such a word is an error.
    void wordsAfterOptions(std::vector<std::string> &words);

    // Reads argv, the config file and the environment. nullopt: go on. Otherwise the
    // program's exit status, its text already printed: 0 after --help, 2 after a usage error.
    std::optional<int> parse(int argc, const char *const *argv);
    // A usage error found after parse() (options that do not fit together): prints it in
    // the same form and returns 2.
    int usageError(const std::string &message) const;
    // The --help text.
    std::string help() const;

private:
    // Stores one value's text, or fails with the reason ("" for "needs <needs>").
    using Store = std::function<Expected<void>(const std::string &)>;
    Option add(const std::string &names, const std::string &metavar, const std::string &help, const std::string &needs,
               bool many, Store store);
    std::string describe(const CLI::ParseError &e) const;
    // How an error names the source of a refused value: "--port", or "$PORT (for --port)".
    std::string whoGave(const CLI::Option &option, const std::string &text) const;

    static bool readText(const std::string &text, std::string &out)
    {
        out = text;
        return true;
    }
    template <typename T>
    static bool readText(const std::string &text, T &out)
    {
        return parseWhole(text, out);
    }

    std::string program_;
    std::unique_ptr<CLI::App> app_;
    std::vector<std::pair<std::string, std::string>> needs_; // option name, what its value needs
    std::vector<std::string> *words_ = nullptr;
    std::vector<std::string> args_; // the command line, for whoGave()
    std::string failure_;           // the message of the value that was refused last
};

// A program's parsed options, or the status it exits with (parse errors and --help are
// printed already).
template <typename Options>
class Parsed {
public:
    Parsed(Options options) : options_(std::move(options)) {}
    static Parsed exit(int status)
    {
        Parsed p;
        p.status_ = status;
        return p;
    }
    explicit operator bool() const noexcept { return options_.has_value(); }
    Options &operator*() { return *options_; }
    Options *operator->() { return &*options_; }
    int exitStatus() const noexcept { return status_; }

private:
    Parsed() = default;
    std::optional<Options> options_;
    int status_ = 0;
};

} // namespace chronus::cli
