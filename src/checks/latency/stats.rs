//! Latency distributions: every sample goes into an HDR histogram (microsecond
//! resolution, three significant digits), percentiles are nearest-rank, and
//! distributions from several workers or windows are merged as histograms,
//! never by combining their percentiles (pitfall B35).

use hdrhistogram::Histogram;
use serde_json::{Value, json};

/// Largest latency recorded exactly; longer ones are clamped to it.
const MAX_MICROS: u64 = 3_600_000_000;

/// The quantiles listed in the JSON distribution.
const LADDER: &[f64] = &[0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 1.0];

/// Edges (ms) of the compact text histogram; the last bin is open-ended.
const TEXT_EDGES_MS: &[u64] = &[10, 25, 50, 100, 250, 500, 1000, 2500];

/// Bars of the compact histogram, from empty to full.
const BARS: &[char] = &[' ', '▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// A latency distribution.
#[derive(Debug, Clone)]
pub struct Distribution {
    hist: Histogram<u64>,
}

impl Default for Distribution {
    fn default() -> Self {
        Distribution::new()
    }
}

impl Distribution {
    pub fn new() -> Distribution {
        // Constant, valid bounds: creation cannot fail on any input.
        let hist = Histogram::new_with_bounds(1, MAX_MICROS, 3)
            .or_else(|_| Histogram::new(3))
            .expect("three significant figures are always a valid histogram");
        Distribution { hist }
    }

    /// Records one latency in microseconds (0 counts as 1 µs).
    pub fn record_micros(&mut self, micros: u64) {
        self.hist.saturating_record(micros.clamp(1, MAX_MICROS));
    }

    pub fn record(&mut self, latency: std::time::Duration) {
        self.record_micros(latency.as_micros().min(u128::from(MAX_MICROS)) as u64);
    }

    /// Adds another distribution's samples to this one.
    pub fn merge(&mut self, other: &Distribution) {
        for v in other.hist.iter_recorded() {
            self.hist
                .saturating_record_n(v.value_iterated_to(), v.count_at_value());
        }
    }

    pub fn samples(&self) -> u64 {
        self.hist.len()
    }

    /// Nearest-rank quantile in microseconds: the smallest recorded value with
    /// at least `ceil(q * n)` samples at or below it; `None` without samples.
    pub fn quantile_micros(&self, q: f64) -> Option<u64> {
        if self.hist.is_empty() {
            return None;
        }
        let v = self.hist.value_at_quantile(q.clamp(0.0, 1.0));
        Some(self.hist.median_equivalent(v))
    }

    /// Nearest-rank quantile in milliseconds.
    pub fn quantile_ms(&self, q: f64) -> Option<f64> {
        self.quantile_micros(q).map(|us| us as f64 / 1000.0)
    }

    pub fn max_ms(&self) -> Option<f64> {
        if self.hist.is_empty() {
            None
        } else {
            Some(self.hist.median_equivalent(self.hist.max()) as f64 / 1000.0)
        }
    }

    /// Sample counts per bin of the compact text histogram.
    fn text_bins(&self) -> Vec<u64> {
        let mut bins = vec![0u64; TEXT_EDGES_MS.len() + 1];
        for v in self.hist.iter_recorded() {
            let ms = self.hist.median_equivalent(v.value_iterated_to()) / 1000;
            let i = TEXT_EDGES_MS
                .iter()
                .position(|edge| ms < *edge)
                .unwrap_or(TEXT_EDGES_MS.len());
            bins[i] += v.count_at_value();
        }
        bins
    }

    /// One-line histogram: `<10ms ▁█ ▁  ▃ ≥2.5s`, a bar per bin scaled to the
    /// fullest bin, with any non-empty bin at least one step high.
    pub fn compact(&self) -> String {
        let bins = self.text_bins();
        let top = bins.iter().copied().max().unwrap_or(0);
        let bars: String = bins
            .iter()
            .map(|&c| {
                if c == 0 || top == 0 {
                    BARS[0]
                } else {
                    let step = ((c as f64 / top as f64) * 8.0).ceil() as usize;
                    BARS[step.clamp(1, 8)]
                }
            })
            .collect();
        format!("<10ms [{bars}] ≥2.5s")
    }

    /// The full distribution for JSON: a percentile ladder, the text bins
    /// with their edges, and every recorded value with its count.
    pub fn to_json(&self) -> Value {
        let ladder: serde_json::Map<String, Value> = LADDER
            .iter()
            .filter_map(|q| {
                self.quantile_ms(*q)
                    .map(|v| (format!("p{}", q * 100.0), json!(round3(v))))
            })
            .collect();
        let values: Vec<Value> = self
            .hist
            .iter_recorded()
            .map(|v| {
                json!([
                    round3(self.hist.median_equivalent(v.value_iterated_to()) as f64 / 1000.0),
                    v.count_at_value()
                ])
            })
            .collect();
        json!({
            "unit": "ms",
            "samples": self.samples(),
            "percentiles": ladder,
            "bins_upper_ms": TEXT_EDGES_MS,
            "bins": self.text_bins(),
            "values": values,
        })
    }
}

/// Rounds to three decimals (microseconds in milliseconds).
pub fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// B35 (a): 1, 2, ..., 100 ms gives p50 = 50, p95 = 95, p99 = 99 by nearest
    /// rank, not an interpolated 95.05 and not an average of the lower 95 %.
    #[test]
    fn b35_percentiles_are_nearest_rank() {
        let mut d = Distribution::new();
        for ms in 1..=100u64 {
            d.record_micros(ms * 1000);
        }
        assert_eq!(d.quantile_ms(0.50).unwrap().round(), 50.0);
        assert_eq!(d.quantile_ms(0.95).unwrap().round(), 95.0);
        assert_eq!(d.quantile_ms(0.99).unwrap().round(), 99.0);
        assert_eq!(d.max_ms().unwrap().round(), 100.0);
    }

    /// B35 (b): 60 windows of 1000 samples, 59 at 20 ms and one at 2000 ms;
    /// merged histograms give p95 = 20 ms and p99 = 2000 ms. The maximum of
    /// the per-window p95s (2000 ms) is not the run's p95.
    #[test]
    fn b35_windows_merge_histograms_not_percentiles() {
        let mut windows = Vec::new();
        for w in 0..60 {
            let mut d = Distribution::new();
            let ms = if w == 59 { 2000 } else { 20 };
            for _ in 0..1000 {
                d.record_micros(ms * 1000);
            }
            windows.push(d);
        }
        let mut run = Distribution::new();
        for w in &windows {
            run.merge(w);
        }
        assert_eq!(run.samples(), 60_000);
        assert_eq!(run.quantile_ms(0.95).unwrap().round(), 20.0);
        assert_eq!(run.quantile_ms(0.99).unwrap().round(), 2000.0);
        assert_eq!(run.max_ms().unwrap().round(), 2000.0);
        let max_of_window_p95 = windows
            .iter()
            .filter_map(|w| w.quantile_ms(0.95))
            .fold(0.0f64, f64::max);
        assert_ne!(
            max_of_window_p95.round(),
            run.quantile_ms(0.95).unwrap().round()
        );
    }

    #[test]
    fn empty_distribution_has_no_percentiles() {
        let d = Distribution::new();
        assert_eq!(d.quantile_ms(0.95), None);
        assert_eq!(d.max_ms(), None);
        assert_eq!(d.to_json()["samples"], 0);
    }

    #[test]
    fn known_schedule_is_measured_within_one_percent() {
        // 6 % at 600 ms, the rest at 20 ms: p50 = 20, p95 = p99 = 600.
        let mut d = Distribution::new();
        for i in 0..20_000u64 {
            d.record_micros(if i % 100 < 6 { 600_000 } else { 20_000 });
        }
        let close = |got: f64, want: f64| (got - want).abs() <= (want * 0.01).max(1.0);
        assert!(close(d.quantile_ms(0.5).unwrap(), 20.0));
        assert!(close(d.quantile_ms(0.95).unwrap(), 600.0));
        assert!(close(d.quantile_ms(0.99).unwrap(), 600.0));
    }

    #[test]
    fn compact_histogram_marks_every_non_empty_bin() {
        let mut d = Distribution::new();
        for _ in 0..1000 {
            d.record_micros(5_000);
        }
        d.record_micros(700_000);
        let text = d.compact();
        assert!(text.starts_with("<10ms [█"), "{text}");
        assert!(text.contains('▁'), "{text}");
        let json = d.to_json();
        assert_eq!(json["bins"][0], 1000);
        assert_eq!(json["bins"][6], 1);
    }
}
