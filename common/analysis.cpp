#include "common/analysis.hpp"

#include <ebur128.h>
#include <fftw3.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <complex>
#include <memory>
#include <numeric>
#include <vector>

namespace chronus::analysis {

namespace {

constexpr double kSilentDbfs = -90.0;

double db(double power) { return power > 0.0 ? 10.0 * std::log10(power) : -1e9; }
double dbAmplitude(double amplitude) { return amplitude > 0.0 ? 20.0 * std::log10(amplitude) : -1e9; }

// One real FFT size, planned once per call (FFTW_ESTIMATE: no measuring).
class Fft {
public:
    explicit Fft(std::size_t n) : n_(n), in_(fftw_alloc_real(n)), out_(fftw_alloc_complex(n / 2 + 1))
    {
        plan_ = fftw_plan_dft_r2c_1d(int(n), in_, out_, FFTW_ESTIMATE);
    }
    ~Fft()
    {
        fftw_destroy_plan(plan_);
        fftw_free(in_);
        fftw_free(out_);
    }
    Fft(const Fft &) = delete;
    Fft &operator=(const Fft &) = delete;
    double *in() { return in_; }
    void run() { fftw_execute(plan_); }
    double power(std::size_t k) const { return out_[k][0] * out_[k][0] + out_[k][1] * out_[k][1]; }
    std::size_t bins() const { return n_ / 2 + 1; }

private:
    std::size_t n_;
    double *in_;
    fftw_complex *out_;
    fftw_plan plan_;
};

std::vector<double> hann(std::size_t n)
{
    std::vector<double> w(n);
    for (std::size_t i = 0; i < n; ++i)
        w[i] = 0.5 - 0.5 * std::cos(2.0 * M_PI * double(i) / double(n));
    return w;
}

void loudness(const float *left, const float *right, std::size_t frames, double rate, Description &d)
{
    ebur128_state *st =
        ebur128_init(2, static_cast<unsigned long>(rate), EBUR128_MODE_I | EBUR128_MODE_S | EBUR128_MODE_LRA |
                                                              EBUR128_MODE_TRUE_PEAK);
    if (!st)
        return;
    std::vector<float> interleaved(std::min<std::size_t>(frames, 48000) * 2);
    for (std::size_t at = 0; at < frames;) {
        const std::size_t n = std::min(frames - at, interleaved.size() / 2);
        for (std::size_t i = 0; i < n; ++i) {
            interleaved[2 * i] = left[at + i];
            interleaved[2 * i + 1] = right[at + i];
        }
        ebur128_add_frames_float(st, interleaved.data(), n);
        at += n;
    }
    double v = 0.0;
    if (ebur128_loudness_global(st, &v) == EBUR128_SUCCESS && std::isfinite(v))
        d.integratedLufs = v;
    if (ebur128_loudness_shortterm(st, &v) == EBUR128_SUCCESS && std::isfinite(v))
        d.shortTermLufs = v;
    if (ebur128_loudness_range(st, &v) == EBUR128_SUCCESS && std::isfinite(v))
        d.loudnessRangeLu = v;
    double peak = 0.0;
    for (unsigned c = 0; c < 2; ++c)
        if (ebur128_true_peak(st, c, &v) == EBUR128_SUCCESS)
            peak = std::max(peak, v);
    d.truePeakDbtp = dbAmplitude(peak);
    ebur128_destroy(&st);
}

void levelsAndStereo(const float *left, const float *right, std::size_t frames, Description &d)
{
    double sumL = 0, sumR = 0, powL = 0, powR = 0, cross = 0, mid = 0, side = 0, peak = 0;
    for (std::size_t i = 0; i < frames; ++i) {
        const double l = left[i], r = right[i];
        sumL += l;
        sumR += r;
        powL += l * l;
        powR += r * r;
        cross += l * r;
        mid += (l + r) * (l + r) * 0.25;
        side += (l - r) * (l - r) * 0.25;
        peak = std::max({peak, std::fabs(l), std::fabs(r)});
    }
    const double n = double(std::max<std::size_t>(frames, 1));
    d.dcOffset[0] = sumL / n;
    d.dcOffset[1] = sumR / n;
    d.samplePeakDbfs = dbAmplitude(peak);
    d.rmsDbfs = db((powL + powR) / (2.0 * n));
    d.silent = d.samplePeakDbfs < kSilentDbfs;
    d.correlation = powL > 0 && powR > 0 ? cross / std::sqrt(powL * powR) : 1.0;
    d.width = mid > 0 ? side / mid : 0.0;
}

// Welch: the mean power spectrum of Hann-windowed 8192-frame stretches of the mono mix.
void spectrum(const std::vector<double> &mono, double rate, Description &d)
{
    constexpr std::size_t kN = 8192;
    if (mono.size() < kN / 4)
        return;
    const std::size_t n = std::min(kN, mono.size());
    Fft fft(n);
    const auto w = hann(n);
    std::vector<double> power(fft.bins(), 0.0);
    std::size_t segments = 0;
    for (std::size_t at = 0; at + n <= mono.size(); at += n / 2, ++segments) {
        for (std::size_t i = 0; i < n; ++i)
            fft.in()[i] = mono[at + i] * w[i];
        fft.run();
        for (std::size_t k = 0; k < power.size(); ++k)
            power[k] += fft.power(k);
    }
    double total = 0, weighted = 0, magnitude = 0;
    std::array<double, 10> bands{};
    for (std::size_t k = 1; k < power.size(); ++k) {
        const double f = double(k) * rate / double(n);
        total += power[k];
        const double m = std::sqrt(power[k]);
        weighted += f * m;
        magnitude += m;
        for (std::size_t b = 0; b < bands.size(); ++b)
            if (f >= kOctaveCentresHz[b] / M_SQRT2 && f < kOctaveCentresHz[b] * M_SQRT2)
                bands[b] += power[k];
    }
    d.centroidHz = magnitude > 0 ? weighted / magnitude : 0.0;
    for (std::size_t b = 0; b < bands.size(); ++b)
        d.octaveBandsDb[b] = total > 0 ? db(bands[b] / total) : -1e9;
    (void)segments;
}

std::string noteName(double hz)
{
    static const char *kNames[12] = {"C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"};
    const double midi = 69.0 + 12.0 * std::log2(hz / 440.0);
    const long nearest = std::lround(midi);
    const long cents = std::lround((midi - double(nearest)) * 100.0);
    return std::string(kNames[((nearest % 12) + 12) % 12]) + std::to_string(nearest / 12 - 1) + " " +
           (cents >= 0 ? "+" : "") + std::to_string(cents);
}

// The fundamental of the last second of the mono mix: the normalised autocorrelation's first
// strong peak between 30 Hz and 2 kHz (YIN's idea, through an FFT), refined by a parabola.
void pitch(const std::vector<double> &mono, double rate, Description &d)
{
    const std::size_t n = std::min<std::size_t>(mono.size(), std::size_t(rate));
    if (n < 4096)
        return;
    const std::size_t start = mono.size() - n;
    std::size_t size = 1;
    while (size < 2 * n)
        size *= 2;
    std::vector<double> x(size, 0.0);
    double energy = 0;
    for (std::size_t i = 0; i < n; ++i) {
        x[i] = mono[start + i];
        energy += x[i] * x[i];
    }
    if (energy <= 0)
        return;
    // r = IFFT(|FFT(x)|^2), with FFTW's unnormalised transforms.
    std::vector<std::complex<double>> spec(size / 2 + 1);
    fftw_plan forward = fftw_plan_dft_r2c_1d(int(size), x.data(), reinterpret_cast<fftw_complex *>(spec.data()),
                                             FFTW_ESTIMATE);
    fftw_execute(forward);
    fftw_destroy_plan(forward);
    for (auto &c : spec)
        c = std::norm(c);
    std::vector<double> r(size);
    fftw_plan back = fftw_plan_dft_c2r_1d(int(size), reinterpret_cast<fftw_complex *>(spec.data()), r.data(),
                                          FFTW_ESTIMATE);
    fftw_execute(back);
    fftw_destroy_plan(back);
    const auto minLag = static_cast<std::size_t>(rate / 2000.0), maxLag = static_cast<std::size_t>(rate / 30.0);
    // Normalised by the overlap, so longer lags are not penalised.
    auto nr = [&](std::size_t lag) { return r[lag] / r[0] * double(n) / double(n - lag); };
    double best = 0;
    std::size_t at = 0;
    for (std::size_t lag = minLag + 1; lag < std::min(maxLag, n / 2); ++lag) {
        const double v = nr(lag);
        if (v > nr(lag - 1) && v >= nr(lag + 1) && v > 0.5) {
            if (at == 0 || v > best * 1.1) { // the first strong peak; a clearly stronger one later wins
                if (at != 0 && v <= best)
                    continue;
                best = v;
                at = lag;
                if (v > 0.9)
                    break;
            }
        }
    }
    if (at == 0)
        return;
    const double a = nr(at - 1), b = nr(at), c = nr(at + 1);
    const double shift = (a - 2 * b + c) != 0 ? 0.5 * (a - c) / (a - 2 * b + c) : 0.0;
    d.fundamentalHz = rate / (double(at) + shift);
    d.pitchClarity = std::clamp(best, 0.0, 1.0);
    d.note = noteName(d.fundamentalHz);
}

// Spectral flux onsets (1024-frame windows, hop 512) and a tempo from their periodicity.
void onsets(const std::vector<double> &mono, double rate, Description &d)
{
    constexpr std::size_t kN = 1024, kHop = 512;
    if (mono.size() < kN * 4)
        return;
    Fft fft(kN);
    const auto w = hann(kN);
    std::vector<double> previous(fft.bins(), 0.0), flux;
    for (std::size_t at = 0; at + kN <= mono.size(); at += kHop) {
        for (std::size_t i = 0; i < kN; ++i)
            fft.in()[i] = mono[at + i] * w[i];
        fft.run();
        double f = 0;
        for (std::size_t k = 0; k < fft.bins(); ++k) {
            const double m = std::log1p(100.0 * std::sqrt(fft.power(k))); // compressed, as heard
            f += std::max(0.0, m - previous[k]);
            previous[k] = m;
        }
        flux.push_back(f);
    }
    const double mean = std::accumulate(flux.begin(), flux.end(), 0.0) / double(flux.size());
    std::size_t count = 0;
    for (std::size_t t = 1; t + 1 < flux.size(); ++t) {
        const std::size_t lo = t >= 8 ? t - 8 : 0, hi = std::min(flux.size(), t + 9);
        std::vector<double> around(flux.begin() + long(lo), flux.begin() + long(hi));
        std::nth_element(around.begin(), around.begin() + long(around.size() / 2), around.end());
        const double threshold = around[around.size() / 2] * 1.5 + mean * 0.5;
        if (flux[t] > threshold && flux[t] > flux[t - 1] && flux[t] >= flux[t + 1])
            ++count;
    }
    const double seconds = double(mono.size()) / rate;
    d.onsetsPerSecond = double(count) / seconds;
    if (count < 4)
        return;
    // Tempo: the beat period (60-200 BPM) whose multiples the flux repeats at best (a comb
    // over 4 beats, so a pulse of sixteenths does not pass for the beat), weighted towards
    // 120 BPM by an octave-wide prior, as listeners are.
    const double framesPerSecond = rate / double(kHop);
    std::vector<double> centred(flux.size());
    for (std::size_t t = 0; t < flux.size(); ++t)
        centred[t] = flux[t] - mean;
    auto ac = [&](std::size_t lag) {
        double sum = 0;
        for (std::size_t t = lag; t < centred.size(); ++t)
            sum += centred[t] * centred[t - lag];
        return sum / double(centred.size() - std::min(lag, centred.size() - 1));
    };
    double best = 0;
    double bestBpm = 0;
    for (double bpm = 60.0; bpm <= 200.0; bpm += 0.5) {
        const double lag = framesPerSecond * 60.0 / bpm;
        double comb = 0;
        for (int k = 1; k <= 4; ++k) {
            const double at = lag * k;
            const auto lo = static_cast<std::size_t>(at);
            if (lo + 1 >= centred.size())
                break;
            comb += ac(lo) * (1.0 - (at - double(lo))) + ac(lo + 1) * (at - double(lo));
        }
        const double octaves = std::log2(bpm / 120.0);
        const double score = comb * std::exp(-0.5 * octaves * octaves);
        if (score > best) {
            best = score;
            bestBpm = bpm;
        }
    }
    d.tempoBpm = bestBpm;
}

} // namespace

Description analyze(const float *left, const float *right, std::size_t frames, double rate)
{
    Description d;
    d.seconds = double(frames) / rate;
    if (frames == 0)
        return d;
    levelsAndStereo(left, right, frames, d);
    if (d.silent)
        return d;
    loudness(left, right, frames, rate, d);
    std::vector<double> mono(frames);
    for (std::size_t i = 0; i < frames; ++i)
        mono[i] = 0.5 * (double(left[i]) + double(right[i]));
    spectrum(mono, rate, d);
    pitch(mono, rate, d);
    onsets(mono, rate, d);
    return d;
}

std::string toJson(const Description &d, int indent)
{
    auto value = [](double v) {
        return v <= -1e8 ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(std::round(v * 1e3) / 1e3);
    };
    nlohmann::ordered_json bands = nlohmann::ordered_json::object();
    for (std::size_t b = 0; b < kOctaveCentresHz.size(); ++b) {
        char name[16];
        std::snprintf(name, sizeof name, "%g", kOctaveCentresHz[b]);
        bands[name] = value(d.octaveBandsDb[b]);
    }
    nlohmann::ordered_json j = {
        {"seconds", value(d.seconds)},
        {"silent", d.silent},
        {"integrated_lufs", value(d.integratedLufs)},
        {"short_term_lufs", value(d.shortTermLufs)},
        {"loudness_range_lu", value(d.loudnessRangeLu)},
        {"true_peak_dbtp", value(d.truePeakDbtp)},
        {"sample_peak_dbfs", value(d.samplePeakDbfs)},
        {"rms_dbfs", value(d.rmsDbfs)},
        {"dc_offset", {value(d.dcOffset[0]), value(d.dcOffset[1])}},
        {"correlation", value(d.correlation)},
        {"width", value(d.width)},
        {"centroid_hz", value(d.centroidHz)},
        {"octave_bands_db", bands},
        {"fundamental_hz", value(d.fundamentalHz)},
        {"pitch_clarity", value(d.pitchClarity)},
        {"note", d.note},
        {"onsets_per_second", value(d.onsetsPerSecond)},
        {"tempo_bpm", value(d.tempoBpm)},
    };
    return j.dump(indent);
}

Levels levels(const float *left, const float *right, std::size_t frames)
{
    Levels l;
    l.frames = frames;
    const float *ch[2] = {left, right};
    for (int c = 0; c < 2; ++c) {
        double peak = 0, power = 0;
        for (std::size_t i = 0; i < frames; ++i) {
            const double x = std::fabs(double(ch[c][i]));
            peak = std::max(peak, x);
            power += x * x;
            if (x >= 1.0)
                ++l.clips[c];
        }
        l.peakDbfs[c] = dbAmplitude(peak);
        l.rmsDbfs[c] = frames ? db(power / double(frames)) : -1e9;
    }
    return l;
}

} // namespace chronus::analysis
