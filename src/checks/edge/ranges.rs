//! Address ranges of CDN/WAF providers, shipped as data (`data/cdn-ranges.toml`)
//! with the date they were recorded, and a small CIDR matcher.

use std::net::IpAddr;

use serde::Deserialize;

/// The shipped data file.
pub const SHIPPED: &str = include_str!("../../../data/cdn-ranges.toml");

#[derive(Debug, Deserialize)]
struct RawRanges {
    date: String,
    provider: Vec<RawProvider>,
}

#[derive(Debug, Deserialize)]
struct RawProvider {
    name: String,
    #[allow(dead_code)]
    source: String,
    ranges: Vec<String>,
}

/// One network, `addr/prefix`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    pub fn parse(text: &str) -> Result<Cidr, String> {
        let (a, p) = text
            .split_once('/')
            .ok_or_else(|| format!("`{text}` is not addr/prefix"))?;
        let addr: IpAddr = a.parse().map_err(|_| format!("`{a}` is not an address"))?;
        let prefix: u8 = p.parse().map_err(|_| format!("`{p}` is not a prefix"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        if prefix > max {
            return Err(format!("prefix /{prefix} is too long in `{text}`"));
        }
        Ok(Cidr { addr, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                (u32::from(net) & mask) == (u32::from(ip) & mask)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                (u128::from(net) & mask) == (u128::from(ip) & mask)
            }
            _ => false,
        }
    }
}

/// Parses `YYYY-MM-DD`.
fn parse_date(text: &str) -> Option<time::Date> {
    let mut parts = text.trim().splitn(3, '-');
    let y: i32 = parts.next()?.parse().ok()?;
    let m: u8 = parts.next()?.parse().ok()?;
    let d: u8 = parts.next()?.parse().ok()?;
    time::Date::from_calendar_date(y, time::Month::try_from(m).ok()?, d).ok()
}

/// The providers' ranges and the date they were recorded.
#[derive(Debug, Clone)]
pub struct Ranges {
    pub date: time::Date,
    pub providers: Vec<(String, Vec<Cidr>)>,
}

impl Ranges {
    pub fn parse(text: &str) -> Result<Ranges, String> {
        let raw: RawRanges = toml::from_str(text).map_err(|e| format!("bad ranges data: {e}"))?;
        let date = parse_date(&raw.date)
            .ok_or_else(|| format!("bad date `{}` in ranges data (YYYY-MM-DD)", raw.date))?;
        let mut providers = Vec::new();
        for p in raw.provider {
            let cidrs = p
                .ranges
                .iter()
                .map(|r| Cidr::parse(r))
                .collect::<Result<Vec<_>, _>>()?;
            providers.push((p.name, cidrs));
        }
        Ok(Ranges { date, providers })
    }

    pub fn shipped() -> Result<Ranges, String> {
        Ranges::parse(SHIPPED)
    }

    /// The provider whose published ranges contain `ip`.
    pub fn provider_of(&self, ip: IpAddr) -> Option<&str> {
        self.providers
            .iter()
            .find(|(_, cidrs)| cidrs.iter().any(|c| c.contains(ip)))
            .map(|(name, _)| name.as_str())
    }

    /// Days between the recording date and `today`.
    pub fn age_days(&self, today: time::Date) -> i64 {
        (today - self.date).whole_days()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_data_parses_and_matches() {
        let r = Ranges::shipped().unwrap();
        assert!(r.providers.len() >= 3);
        assert_eq!(
            r.provider_of("104.16.1.1".parse().unwrap()),
            Some("Cloudflare")
        );
        assert_eq!(
            r.provider_of("2606:4700::1".parse().unwrap()),
            Some("Cloudflare")
        );
        assert_eq!(
            r.provider_of("151.101.65.1".parse().unwrap()),
            Some("Fastly")
        );
        assert_eq!(r.provider_of("127.0.0.1".parse().unwrap()), None);
        assert_eq!(r.provider_of("104.32.0.1".parse().unwrap()), None);
    }

    #[test]
    fn cidr_edges() {
        let c = Cidr::parse("10.0.0.0/8").unwrap();
        assert!(c.contains("10.255.255.255".parse().unwrap()));
        assert!(!c.contains("11.0.0.0".parse().unwrap()));
        assert!(
            Cidr::parse("0.0.0.0/0")
                .unwrap()
                .contains("8.8.8.8".parse().unwrap())
        );
        assert!(Cidr::parse("10.0.0.0/33").is_err());
        assert!(Cidr::parse("10.0.0.0").is_err());
    }

    #[test]
    fn age_is_counted_in_days() {
        let r = Ranges::parse("date = \"2026-01-01\"\nprovider = []\n").unwrap();
        let later = time::macros::date!(2026 - 07 - 20);
        assert_eq!(r.age_days(later), 200);
    }
}
