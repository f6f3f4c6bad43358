//! The briefing's words and number formats, in French and English.

use crate::scenario::fidelity::Fidelity;

/// Language of a briefing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// Français.
    Fr,
    /// English.
    En,
}

impl Lang {
    /// A translated label.
    pub fn t(self, key: &str) -> &'static str {
        let (fr, en) = match key {
            "title_run" => ("Matinée simulée", "Simulated morning"),
            "title_sweep" => ("Comparaison de stratégies", "Strategies compared"),
            "title_selection" => ("Choix de la meilleure stratégie", "Choosing the best strategy"),
            "title_optimization" => ("La configuration la moins chère", "The cheapest set-up"),
            "title_sensitivity" => ("Les hypothèses qui comptent", "The assumptions that matter"),
            "title_calibration" => ("Ce que les observations disent des inconnues", "What the observations say of the unknowns"),
            "title_stability" => ("Retour à la normale après un déclencheur", "Recovery after a trigger"),
            "summary" => ("En bref", "In brief"),
            "demand" => ("Demande et capacité par minute", "Demand against capacity per minute"),
            "attempts" => ("requêtes envoyées", "requests sent"),
            "goodput" => ("réponses à temps", "answered in time"),
            "capacity" => ("capacité nominale", "nominal capacity"),
            "logins" => ("Connexions par minute", "Logins per minute"),
            "logins_ok" => ("connexions réussies", "successful logins"),
            "logins_rejected" => ("refusées (quota)", "refused (quota)"),
            "timeouts" => ("délais dépassés", "timeouts"),
            "sessions" => ("Sessions ouvertes et salle d'attente", "Open sessions and waiting room"),
            "active_sessions" => ("sessions ouvertes", "open sessions"),
            "room" => ("en salle d'attente", "in the waiting room"),
            "cdf" => ("Délai avant la première connexion réussie", "Time to first successful login"),
            "cdf_x" => ("minutes depuis le premier essai", "minutes since the first try"),
            "cdf_y" => ("part des utilisateurs connectés", "share of users logged in"),
            "attack" => ("Trafic d'attaque et trafic réel", "Attack traffic against real traffic"),
            "no_attack" => (
                "Aucun trafic d'attaque dans ce scénario : seul le trafic réel est représenté.",
                "No attack traffic in this scenario: the chart shows real traffic only.",
            ),
            "real" => ("trafic réel (requêtes/min)", "real traffic (requests/min)"),
            "attack_sent" => ("requêtes d'attaque envoyées", "attack requests sent"),
            "attack_mitigated" => ("bloquées par la protection", "blocked by the protection"),
            "attack_through" => ("passées malgré la protection", "got past the protection"),
            "real_mitigated" => ("requêtes réelles bloquées à tort", "real requests wrongly blocked"),
            "per_minute_log" => ("par minute (échelle log)", "per minute (log scale)"),
            "minute_axis" => ("heure", "time of day"),
            "per_minute" => ("par minute", "per minute"),
            "strategies" => ("Stratégies côte à côte (IC à 95 %)", "Strategies side by side (95% CI)"),
            "share_0900" => ("connectés à 9 h", "in by 9:00"),
            "share_1200" => ("connectés à midi", "in by noon"),
            "frontier" => ("Coût et niveau de service", "Cost against service level"),
            "server_hours" => ("serveurs-heures", "server-hours"),
            "goodput_bands" => ("Réponses à temps par minute, toutes plateformes", "Answered in time per minute, all platforms"),
            "source" => ("Résultats", "Results"),
            "orbit" => ("Utilisateurs en attente de réessayer ou de revenir", "Users waiting to retry or to come back (the orbit)"),
            "mean_orbit" => ("en attente (moyenne de la minute)", "waiting (minute average)"),
            "users_axis" => ("utilisateurs", "users"),
            // Marks on the time charts.
            "mark_bell" => ("sonnerie", "bell"),
            "mark_quota" => ("quota plein", "quota full"),
            "mark_room" => ("salle d'attente", "waiting room"),
            "mark_protection" => ("protection", "protection on"),
            "mark_attack" => ("attaque", "attack"),
            "mark_capacity_lost" => ("capacité perdue", "capacity lost"),
            "mark_arrivals_end" => ("fin des arrivées", "arrivals end"),
            "mark_peak" => ("pic", "peak"),
            "demand_note" => (
                "Une plateforme par panneau. Aire : requêtes envoyées (nouvelles tentatives comprises) ; trait : réponses à temps ; \
                 tirets : capacité nominale. Quand les requêtes dépassent de loin la capacité, l'axe s'arrête au-dessus d'elle et le pic est écrit.",
                "One platform per panel. Area: requests sent (retries included); line: answered in time; dashes: nominal capacity. \
                 When requests far exceed capacity, the axis stops above it and the peak is written.",
            ),
            _ => ("?", "?"),
        };
        match self {
            Lang::Fr => fr,
            Lang::En => en,
        }
    }

    /// The word of a mark on a time chart (`bell`, `quota`, `peak`, …).
    pub fn mark(self, key: &str) -> &'static str {
        self.t(&format!("mark_{key}"))
    }

    /// The HTML `lang` attribute.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Fr => "fr",
            Lang::En => "en",
        }
    }

    /// A share as a percentage: `41,3 %` or `41.3%`.
    pub fn percent(self, share: f64) -> String {
        let x = format!("{:.1}", share * 100.0);
        match self {
            Lang::Fr => format!("{}\u{a0}%", x.replace('.', ",")),
            Lang::En => format!("{x}%"),
        }
    }

    /// A whole number with thousands separators: `1 720 299` (narrow no-break spaces) or `1,720,299`.
    pub fn count(self, n: f64) -> String {
        let digits = format!("{:.0}", n.max(0.0));
        let mut out = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                out.push_str(match self {
                    Lang::Fr => "\u{202f}",
                    Lang::En => ",",
                });
            }
            out.push(c);
        }
        out
    }

    /// A decimal number with one decimal.
    pub fn decimal(self, x: f64) -> String {
        let s = format!("{x:.1}");
        match self {
            Lang::Fr => s.replace('.', ","),
            Lang::En => s,
        }
    }

    /// A time of day from `HH:MM`: `8 h 30` or `8:30`.
    pub fn clock(self, hhmm: &str) -> String {
        let (h, m) = hhmm.split_once(':').unwrap_or((hhmm, "00"));
        let h = h.trim_start_matches('0');
        let h = if h.is_empty() { "0" } else { h };
        match self {
            Lang::Fr => format!("{h} h {m}"),
            Lang::En => format!("{h}:{m}"),
        }
    }

    /// The sentence that states the scale of the results and, below the scenario's faithful scale (or at a
    /// reduced scale never measured), warns that they are for exploring, not deciding.
    pub fn scale_note(self, fidelity: Fidelity, scale: f64) -> (String, bool) {
        let s = |x: f64| match self {
            Lang::Fr => format!("{x}").replace('.', ","),
            Lang::En => format!("{x}"),
        };
        match (self, fidelity) {
            (Lang::Fr, Fidelity::Faithful) => (format!("Échelle : {} (1 = population et capacités réelles).", s(scale)), false),
            (Lang::En, Fidelity::Faithful) => (format!("Scale: {} (1 = the real population and capacities).", s(scale)), false),
            (Lang::Fr, Fidelity::Below { scale, faithful }) => (
                format!(
                    "Attention : ces résultats viennent de l'échelle {}, inférieure à {}, la plus petite échelle dont on a vérifié \
                     qu'elle donne les mêmes réponses que l'échelle réelle pour ce scénario. Les chiffres peuvent s'en écarter de plus \
                     que leurs intervalles de confiance, et l'ordre des stratégies peut changer : à utiliser pour explorer ; pour \
                     décider, relancer à l'échelle {} ou plus.",
                    s(scale),
                    s(faithful),
                    s(faithful)
                ),
                true,
            ),
            (Lang::En, Fidelity::Below { scale, faithful }) => (
                format!(
                    "Caution: these results come from scale {}, below {}, the smallest scale shown to give the same answers as \
                     full scale for this scenario. The figures can be off by more than their confidence intervals, and strategies \
                     can come out in another order: use them to explore; for a decision, rerun at scale {} or more.",
                    s(scale),
                    s(faithful),
                    s(faithful)
                ),
                true,
            ),
            (Lang::Fr, Fidelity::Unmeasured { scale }) => (
                format!(
                    "Attention : ces résultats viennent de l'échelle {}, et l'écart entre cette échelle réduite et l'échelle réelle \
                     n'a jamais été mesuré pour ce scénario : à utiliser pour explorer ; pour décider, relancer à l'échelle réelle.",
                    s(scale)
                ),
                true,
            ),
            (Lang::En, Fidelity::Unmeasured { scale }) => (
                format!(
                    "Caution: these results come from scale {}, and how far this reduced scale is from full scale was never \
                     measured for this scenario: use them to explore; for a decision, rerun at full scale.",
                    s(scale)
                ),
                true,
            ),
        }
    }

    /// An axis title for counts drawn at the national population: at a reduced scale, the counts were
    /// multiplied by 1/scale, and the title says so.
    pub fn national_axis(self, base: &str, scale: f64) -> String {
        if !(scale > 0.0 && scale < 1.0) {
            return base.to_owned();
        }
        let s = match self {
            Lang::Fr => format!("{scale}").replace('.', ","),
            Lang::En => format!("{scale}"),
        };
        match self {
            Lang::Fr => format!("{base}, pays (simulé à {s})"),
            Lang::En => format!("{base}, national (run at {s})"),
        }
    }

    /// A duration in minutes, rounded.
    pub fn minutes(self, seconds: f64) -> String {
        let m = (seconds / 60.0).round();
        match self {
            Lang::Fr => format!("{} min", self.count(m)),
            Lang::En => format!("{} min", self.count(m)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scale_note_warns_below_the_faithful_scale_in_both_languages() {
        let below = Fidelity::Below { scale: 0.01, faithful: 0.3 };
        let (fr, warn) = Lang::Fr.scale_note(below, 0.01);
        assert!(warn && fr.contains("0,01") && fr.contains("0,3") && fr.starts_with("Attention"), "{fr}");
        let (en, warn) = Lang::En.scale_note(below, 0.01);
        assert!(warn && en.contains("scale 0.3 or more"), "{en}");
        let (en, warn) = Lang::En.scale_note(Fidelity::Faithful, 1.0);
        assert!(!warn && en == "Scale: 1 (1 = the real population and capacities).", "{en}");
        assert!(Lang::Fr.scale_note(Fidelity::Unmeasured { scale: 0.1 }, 0.1).0.contains("jamais été mesuré"));
    }

    #[test]
    fn numbers_follow_each_language() {
        assert_eq!(Lang::Fr.percent(0.4132), "41,3\u{a0}%");
        assert_eq!(Lang::En.percent(0.4132), "41.3%");
        assert_eq!(Lang::Fr.count(1_720_299.0), "1\u{202f}720\u{202f}299");
        assert_eq!(Lang::En.count(1_720_299.0), "1,720,299");
        assert_eq!(Lang::En.count(999.0), "999");
        assert_eq!(Lang::Fr.clock("08:30"), "8 h 30");
        assert_eq!(Lang::En.clock("09:00"), "9:00");
        assert_eq!(Lang::Fr.decimal(52.66), "52,7");
    }
}
