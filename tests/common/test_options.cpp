// The command-line layer every program uses: where values come from (command line, config
// file, environment, default, in that order), what a usage error looks like and its exit
// status, and what --help holds.
#include "common/options.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <unistd.h>

using namespace chronus;

namespace {

constexpr const char *kPortEnv = "CHRONUS_TEST_OPTIONS_PORT";

// A small program's options, declared the way the programs declare theirs.
struct Demo {
    int port = 5005;
    std::string name = "demo";
    std::vector<std::string> sources;
    bool quiet = false;
    int level = 0;
    std::vector<std::string> words;
};

struct Outcome {
    std::optional<int> status; // nullopt: the program goes on
    std::string out, err;
    Demo demo;
};

Outcome run(std::vector<std::string> args, bool withWords = false)
{
    Outcome r;
    cli::CommandLine cl("demo", "demo [options]", "Shows how options are read.", "Notes at the end.");
    cl.value("--port", "N", r.demo.port, "a port (default 5005)", "a port number between 1 and 65535",
             cli::between(1, 65535))
        .env(kPortEnv);
    cl.value("--name", "NAME", r.demo.name, "a name", "a name of up to 8 characters", cli::name(8));
    cl.list("--source", "PORT", r.demo.sources, "sources", "at least one port name");
    cl.flag("-q,--quiet", r.demo.quiet, "say less");
    cl.converted<int>("--level", "L", r.demo.level, "low or high", "low or high",
                      [](const std::string &text) -> Expected<int> {
                          if (text == "low")
                              return 1;
                          if (text == "high")
                              return 2;
                          return fail("unknown level '" + text + "'");
                      });
    if (withWords)
        cl.wordsAfterOptions(r.demo.words);
    args.insert(args.begin(), "demo");
    std::vector<const char *> argv;
    for (const auto &a : args)
        argv.push_back(a.c_str());
    testing::internal::CaptureStdout();
    testing::internal::CaptureStderr();
    r.status = cl.parse(int(argv.size()), argv.data());
    r.out = testing::internal::GetCapturedStdout();
    r.err = testing::internal::GetCapturedStderr();
    return r;
}

class Options : public ::testing::Test {
protected:
    void SetUp() override { unsetenv(kPortEnv); }
    void TearDown() override
    {
        unsetenv(kPortEnv);
        std::filesystem::remove(config_);
    }
    // A config file with `text`; its path.
    std::string config(const std::string &text)
    {
        std::ofstream(config_) << text;
        return config_.string();
    }
    std::filesystem::path config_ =
        std::filesystem::temp_directory_path() / ("chronus-test-options-" + std::to_string(getpid()) + ".ini");
};

} // namespace

TEST_F(Options, DefaultsStandWhenNothingIsGiven)
{
    const auto r = run({});
    EXPECT_FALSE(r.status);
    EXPECT_EQ(r.demo.port, 5005);
    EXPECT_EQ(r.demo.name, "demo");
    EXPECT_TRUE(r.demo.sources.empty());
    EXPECT_EQ(r.err, "");
}

TEST_F(Options, TheEnvironmentFillsInWhatTheCommandLineLeavesOut)
{
    setenv(kPortEnv, "6001", 1);
    EXPECT_EQ(run({}).demo.port, 6001);
    EXPECT_EQ(run({"--port", "6002"}).demo.port, 6002);
}

TEST_F(Options, AConfigFileSetsOptionsByTheirLongNamesAndBeatsTheEnvironment)
{
    setenv(kPortEnv, "6001", 1);
    const std::string file = config("# a comment\n; another\nport = 7000\nname = boxed\nquiet = true\n"
                                    "source = a:out_1 b:out_2\nlevel = high\n");
    auto r = run({"--config", file});
    ASSERT_FALSE(r.status) << r.err;
    EXPECT_EQ(r.demo.port, 7000);
    EXPECT_EQ(r.demo.name, "boxed");
    EXPECT_TRUE(r.demo.quiet);
    EXPECT_EQ(r.demo.sources, (std::vector<std::string>{"a:out_1", "b:out_2"}));
    EXPECT_EQ(r.demo.level, 2);
    // The command line beats the file.
    r = run({"--config", file, "--port", "7001"});
    EXPECT_EQ(r.demo.port, 7001);
}

TEST_F(Options, ABadValueIsOneLineNamingTheOptionAndWhatItNeedsWithStatusTwo)
{
    const auto r = run({"--port", "70000"});
    EXPECT_EQ(r.status, 2);
    EXPECT_EQ(r.err, "demo: --port needs a port number between 1 and 65535 (try --help)\n");
    EXPECT_EQ(run({"--port", "12ab"}).err, r.err) << "the whole text must be a number";
    EXPECT_EQ(run({"--port"}).err, r.err) << "a missing value is the same error";
    EXPECT_EQ(run({"--name", "much-too-long"}).err, "demo: --name needs a name of up to 8 characters (try --help)\n");
    EXPECT_EQ(run({"--level", "mid"}).err, "demo: --level: unknown level 'mid' (try --help)\n");
}

TEST_F(Options, ABadValueFromTheEnvironmentOrTheConfigFileIsAUsageErrorToo)
{
    setenv(kPortEnv, "many", 1);
    auto r = run({});
    EXPECT_EQ(r.status, 2);
    EXPECT_EQ(r.err, std::string("demo: $") + kPortEnv + " (for --port) needs a port number between 1 and 65535 (try --help)\n");
    // Given on the command line, the same text is the option's.
    r = run({"--port", "many"});
    EXPECT_EQ(r.err, "demo: --port needs a port number between 1 and 65535 (try --help)\n");
    unsetenv(kPortEnv);
    r = run({"--config", config("port = 0\n")});
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.err.find("--port needs a port number"), std::string::npos) << r.err;
    r = run({"--config", config("prot = 1\n")});
    EXPECT_EQ(r.status, 2);
    EXPECT_EQ(r.err, "demo: --config: unknown option 'prot' (try --help)\n");
    r = run({"--config", "/nonexistent/chronus.ini"});
    EXPECT_EQ(r.status, 2);
    EXPECT_EQ(r.err, "demo: --config: cannot read '/nonexistent/chronus.ini' (try --help)\n");
}

TEST_F(Options, UnknownOptionsAndStrayWordsAreUsageErrors)
{
    auto r = run({"--bogus"});
    EXPECT_EQ(r.status, 2);
    EXPECT_EQ(r.err, "demo: unknown option '--bogus' (try --help)\n");
    r = run({"stray"});
    EXPECT_EQ(r.status, 2);
    EXPECT_EQ(r.err, "demo: unexpected argument 'stray' (try --help)\n");
}

TEST_F(Options, WordsAfterTheOptionsBelongToTheProgramEvenWhenTheyLookLikeOptions)
{
    auto r = run({"-q", "set", "osc.freq", "-1", "--lead", "2"}, true);
    ASSERT_FALSE(r.status) << r.err;
    EXPECT_TRUE(r.demo.quiet);
    EXPECT_EQ(r.demo.words, (std::vector<std::string>{"set", "osc.freq", "-1", "--lead", "2"}));
    r = run({"--bogus", "set"}, true);
    EXPECT_EQ(r.status, 2);
    EXPECT_EQ(r.err, "demo: unknown option '--bogus' (try --help)\n");
}

TEST_F(Options, HelpShowsUsageDescriptionOptionsEnvironmentNotesAndTheConfigFileAndWinsOverErrors)
{
    const auto r = run({"--port", "0", "--help"});
    EXPECT_EQ(r.status, 0);
    EXPECT_EQ(r.err, "");
    EXPECT_EQ(r.out.rfind("usage: demo [options]\n\nShows how options are read.\n", 0), 0u) << r.out;
    for (const char *part : {"--port N", "a port (default 5005)", kPortEnv, "-q, --quiet", "--source PORT...",
                             "--config FILE", "Notes at the end.", "long-option = value"})
        EXPECT_NE(r.out.find(part), std::string::npos) << part << " missing from:\n" << r.out;
}

TEST_F(Options, AListOptionTakesEveryWordAfterItAndRepeats)
{
    const auto r = run({"--source", "a:out_1", "a:out_?", "--port", "7000", "--source", "b:*"});
    EXPECT_FALSE(r.status) << r.err;
    EXPECT_EQ(r.demo.sources, (std::vector<std::string>{"a:out_1", "a:out_?", "b:*"}));
    EXPECT_EQ(r.demo.port, 7000);
}
