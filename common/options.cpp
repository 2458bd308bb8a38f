#include "common/options.hpp"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>

namespace chronus::cli {

namespace {

// The same for every program, at the end of --help.
const char *kConfigNote = R"(--config FILE reads options from an INI file: one `long-option = value` a line, named
like the long options without their dashes (a switch takes `true`; several values are
separated by spaces or commas; lines starting with '#' or ';' are comments). The command
line wins over the file, the file over the environment, the environment over the default.
)";

// --help in the order a reader wants it: how to call the program, what it does, the
// options, then the notes. Values are shown by their metavar, the environment variable an
// option falls back to on the line after its description.
class HelpFormatter : public CLI::Formatter {
public:
    explicit HelpFormatter(std::string synopsis) : synopsis_(std::move(synopsis)) { column_width(26); }

    std::string make_help(const CLI::App *app, std::string, CLI::AppFormatMode mode) const override
    {
        std::string text = "usage: " + synopsis_ + "\n\n" + app->get_description() + "\n";
        text += make_groups(app, mode);
        if (!app->get_footer().empty())
            text += "\n" + app->get_footer() + "\n";
        return text + "\n" + kConfigNote;
    }
    std::string make_option_opts(const CLI::Option *opt) const override
    {
        if (opt->get_type_size() == 0 || opt->get_type_name().empty())
            return {};
        return " " + opt->get_type_name() + (opt->get_expected_max() > 1 ? "..." : "");
    }
    std::string make_option_name(const CLI::Option *opt, bool) const override
    {
        std::string names = opt->get_name(false, true);
        for (std::size_t at = names.find(','); at != std::string::npos; at = names.find(',', at + 2))
            names.replace(at, 1, ", ");
        return names;
    }
    std::string make_option_desc(const CLI::Option *opt) const override
    {
        std::string desc = opt->get_description();
        if (!opt->get_envname().empty())
            desc += "\n(environment: " + opt->get_envname() + ")";
        return desc;
    }

private:
    std::string synopsis_;
};

bool looksLikeOption(const std::string &word)
{
    // "-5" and "-0.5" are negative numbers, not options.
    return word.size() > 1 && word[0] == '-' && !(word[1] >= '0' && word[1] <= '9') && word[1] != '.';
}

} // namespace

Accept<std::string> oneOf(std::vector<std::string> choices)
{
    return [choices = std::move(choices)](const std::string &v) {
        return std::find(choices.begin(), choices.end(), v) != choices.end();
    };
}

Accept<std::string> name(std::size_t maxChars, std::string forbidden)
{
    return [maxChars, forbidden = std::move(forbidden)](const std::string &v) {
        return !v.empty() && v.size() <= maxChars && (forbidden.empty() || v.find_first_of(forbidden) == std::string::npos);
    };
}

Option Option::env(const std::string &name)
{
    option_->envname(name);
    return *this;
}

Option Option::required()
{
    option_->required();
    return *this;
}

Option Option::valueOptional(const std::string &otherwise)
{
    option_->expected(0, 1)->default_str(otherwise);
    return *this;
}

bool Option::given() const { return option_->count() > 0; }

CommandLine::CommandLine(std::string program, std::string synopsis, std::string description, std::string notes)
    : program_(std::move(program)), app_(std::make_unique<CLI::App>(std::move(description), program_))
{
    app_->formatter(std::make_shared<HelpFormatter>(std::move(synopsis)));
    app_->footer(std::move(notes));
    // --help wins over any other problem on the command line, so it is acted on as soon as
    // it is read rather than after every value has been checked.
    app_->set_help_flag();
    app_->add_flag_callback("-h,--help", [] { throw CLI::CallForHelp(); }, "print this help and exit")
        ->trigger_on_parse()
        ->configurable(false);
    app_->set_config("--config", "", "read options from FILE: one 'long-option = value' a line")
        ->type_name("FILE")
        ->configurable(false);
    app_->config_formatter(std::make_shared<CLI::ConfigINI>());
    app_->allow_config_extras(CLI::config_extras_mode::error);
    // Unknown options are collected and reported in our own words after parsing.
    app_->allow_extras();
}

CommandLine::~CommandLine() = default;

Option CommandLine::add(const std::string &names, const std::string &metavar, const std::string &help,
                        const std::string &needs, bool many, Store store)
{
    auto self = std::make_shared<CLI::Option *>(); // the option, once made, for its message
    CLI::Option *opt = app_->add_option(
        names,
        [this, self, needs, store](const CLI::results_t &results) {
            for (const std::string &text : results) {
                auto stored = store(text);
                if (stored)
                    continue;
                const std::string reason = stored.error().empty() ? " needs " + needs : ": " + stored.error();
                failure_ = whoGave(**self, text) + reason;
                return false;
            }
            return true;
        },
        help);
    *self = opt;
    needs_.emplace_back(opt->get_name(), needs);
    opt->type_name(metavar);
    if (many)
        opt->expected(1, CLI::detail::expected_max_vector_size)
            ->allow_extra_args(true)
            ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
    else
        opt->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    return Option(opt);
}

Option CommandLine::list(const std::string &names, const std::string &metavar, std::vector<std::string> &target,
                         const std::string &help, const std::string &needs)
{
    return add(names, metavar, help, needs, true, [&target](const std::string &text) -> Expected<void> {
        if (text.empty())
            return fail("");
        target.push_back(text);
        return {};
    });
}

Option CommandLine::flag(const std::string &names, bool &target, const std::string &help)
{
    return Option(app_->add_flag(names, target, help));
}

Option CommandLine::flag(const std::string &names, const std::string &help)
{
    return Option(app_->add_flag(names, help));
}

void CommandLine::wordsAfterOptions(std::vector<std::string> &words)
{
    words_ = &words;
    app_->prefix_command();
}

std::optional<int> CommandLine::parse(int argc, const char *const *argv)
{
    args_.assign(argv + 1, argv + argc);
    try {
        app_->parse(argc, argv);
    } catch (const CLI::CallForHelp &) {
        std::fputs(help().c_str(), stdout);
        return 0;
    } catch (const CLI::ParseError &e) {
        return usageError(describe(e));
    }
    std::vector<std::string> rest = app_->remaining();
    // With wordsAfterOptions, everything from the first word on belongs to the program;
    // an option-like word before it was not one of ours.
    const auto firstWord = words_ ? std::find_if_not(rest.begin(), rest.end(), looksLikeOption) : rest.begin();
    if (firstWord != rest.begin())
        return usageError("unknown option '" + rest.front() + "'");
    if (!words_ && !rest.empty())
        return usageError((looksLikeOption(rest.front()) ? "unknown option '" : "unexpected argument '") +
                          rest.front() + "'");
    if (words_)
        *words_ = std::move(rest);
    return std::nullopt;
}

std::string CommandLine::whoGave(const CLI::Option &option, const std::string &text) const
{
    // CLI11 reads the environment only for options neither the command line nor the config
    // file set; a value equal to the variable's, for an option not on the command line, came
    // from there.
    const std::string &env = option.get_envname();
    const char *value = env.empty() ? nullptr : std::getenv(env.c_str());
    if (!value || text != value)
        return option.get_name();
    for (const std::string &arg : args_)
        if (option.check_name(arg.substr(0, arg.find('='))))
            return option.get_name();
    return "$" + env + " (for " + option.get_name() + ")";
}

std::string CommandLine::describe(const CLI::ParseError &e) const
{
    const std::string what = e.what();
    // A value our store refused: its message names the option and what it needs.
    if (dynamic_cast<const CLI::ConversionError *>(&e) && !failure_.empty())
        return failure_;
    // A value option at the end of the line, with no value.
    if (dynamic_cast<const CLI::ArgumentMismatch *>(&e))
        for (const auto &[option, needs] : needs_)
            if (what.rfind(option + ":", 0) == 0)
                return option + " needs " + needs;
    // A key in the config file that names no option.
    const std::string extra = "INI was not able to parse ";
    if (dynamic_cast<const CLI::ConfigError *>(&e) && what.rfind(extra, 0) == 0)
        return "--config: unknown option '" + what.substr(extra.size()) + "'";
    if (dynamic_cast<const CLI::ConfigError *>(&e))
        return "--config: " + what;
    if (dynamic_cast<const CLI::FileError *>(&e))
        return "--config: cannot read '" + app_->get_config_ptr()->as<std::string>() + "'";
    return what;
}

int CommandLine::usageError(const std::string &message) const
{
    std::fprintf(stderr, "%s: %s (try --help)\n", program_.c_str(), message.c_str());
    return 2;
}

std::string CommandLine::help() const { return app_->help(); }

} // namespace chronus::cli
