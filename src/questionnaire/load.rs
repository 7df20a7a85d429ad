//! Loading and validating a questionnaire directory. Every problem is reported
//! with file, line, column and field path; all semantic problems are collected,
//! not just the first.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use petgraph::algo::toposort;
use petgraph::graph::DiGraph;
use serde::Deserialize;
use toml::Spanned;

use super::model::{
    Action, AnswerOption, Condition, CostClass, Dimension, Effect, Group, LevelDescriptor, Op,
    Question, Questionnaire, Rule, Text,
};
use crate::evidence::facts;
use crate::scale::Score;
use crate::source::{Problem, Problems, parse_toml};

/// The option id reserved for "don't know" in answers.
pub const DONT_KNOW: &str = "dont_know";

/// The three files of a questionnaire, as text.
#[derive(Debug, Clone)]
pub struct Sources {
    /// `questionnaire.toml`: (name for messages, text).
    pub questionnaire: (String, String),
    /// `rules.toml`.
    pub rules: (String, String),
    /// `actions.toml`.
    pub actions: (String, String),
}

impl Sources {
    /// The questionnaire built into i4gauge (`questionnaires/default/`).
    pub fn builtin() -> Sources {
        let named =
            |name: &str, text: &str| (format!("questionnaires/default/{name}"), text.to_owned());
        Sources {
            questionnaire: named(
                "questionnaire.toml",
                include_str!("../../questionnaires/default/questionnaire.toml"),
            ),
            rules: named(
                "rules.toml",
                include_str!("../../questionnaires/default/rules.toml"),
            ),
            actions: named(
                "actions.toml",
                include_str!("../../questionnaires/default/actions.toml"),
            ),
        }
    }

    /// Reads the three files of `dir`.
    pub fn read_dir(dir: &Path) -> std::io::Result<Sources> {
        let read = |name: &str| -> std::io::Result<(String, String)> {
            let path = dir.join(name);
            let text = std::fs::read_to_string(&path).map_err(|error| {
                std::io::Error::new(error.kind(), format!("{}: {error}", path.display()))
            })?;
            Ok((path.display().to_string(), text))
        };
        Ok(Sources {
            questionnaire: read("questionnaire.toml")?,
            rules: read("rules.toml")?,
            actions: read("actions.toml")?,
        })
    }
}

impl Questionnaire {
    /// The questionnaire built into i4gauge.
    pub fn builtin() -> Questionnaire {
        Questionnaire::load(&Sources::builtin())
            .expect("the built-in questionnaire is valid (tested)")
    }

    /// Loads the questionnaire in `dir`.
    pub fn load_dir(dir: &Path) -> anyhow::Result<Questionnaire> {
        let sources = Sources::read_dir(dir)?;
        Ok(Questionnaire::load(&sources)?)
    }

    /// Parses and validates the three files.
    pub fn load(sources: &Sources) -> Result<Questionnaire, Problems> {
        let (q_origin, q_text) = (&sources.questionnaire.0, &sources.questionnaire.1);
        let (r_origin, r_text) = (&sources.rules.0, &sources.rules.1);
        let (a_origin, a_text) = (&sources.actions.0, &sources.actions.1);
        let mut problems = Vec::new();
        let raw_q = parse_toml::<RawQuestionnaire>(q_origin, q_text)
            .map_err(|p| problems.push(p))
            .ok();
        let raw_r = parse_toml::<RawRules>(r_origin, r_text)
            .map_err(|p| problems.push(p))
            .ok();
        let raw_a = parse_toml::<RawActions>(a_origin, a_text)
            .map_err(|p| problems.push(p))
            .ok();
        let (Some(raw_q), Some(raw_r), Some(raw_a)) = (raw_q, raw_r, raw_a) else {
            return Err(Problems(problems));
        };
        let mut check = Checker {
            problems,
            origin: q_origin,
            source: q_text,
        };
        let questionnaire = check.questionnaire(raw_q);
        let dimension_ids: Vec<String> = questionnaire
            .dimensions
            .iter()
            .map(|d| d.id.clone())
            .collect();
        check.file(r_origin, r_text);
        let rules = check.rules(raw_r, &dimension_ids);
        check.file(a_origin, a_text);
        let actions = check.actions(raw_a, &dimension_ids);
        if check.problems.is_empty() {
            Ok(Questionnaire {
                rules,
                actions,
                ..questionnaire
            })
        } else {
            Err(Problems(check.problems))
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawQuestionnaire {
    id: Spanned<String>,
    version: Spanned<String>,
    title: Spanned<Text>,
    #[serde(rename = "level")]
    levels: Vec<Spanned<RawLevel>>,
    #[serde(rename = "dimension")]
    dimensions: Vec<Spanned<RawDimension>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLevel {
    level: Spanned<f64>,
    name: Spanned<Text>,
    descriptor: Spanned<Text>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDimension {
    id: Spanned<String>,
    group: Group,
    weight: Spanned<u32>,
    name: Spanned<Text>,
    description: Spanned<Text>,
    #[serde(rename = "question", default)]
    questions: Vec<Spanned<RawQuestion>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawQuestion {
    id: Spanned<String>,
    #[serde(default = "one")]
    weight: Spanned<u32>,
    text: Spanned<Text>,
    #[serde(default)]
    hint: Option<Spanned<Text>>,
    #[serde(rename = "option", default)]
    options: Vec<Spanned<RawOption>>,
}

fn one() -> Spanned<u32> {
    Spanned::new(0..0, 1)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOption {
    id: Spanned<String>,
    level: Spanned<f64>,
    text: Spanned<Text>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRules {
    #[serde(rename = "rule", default)]
    rules: Vec<Spanned<RawRule>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    id: Spanned<String>,
    dimension: Spanned<String>,
    effect: Effect,
    level: Spanned<f64>,
    #[serde(default)]
    requires_complete_scope: bool,
    when: Spanned<Vec<Spanned<String>>>,
    text: Spanned<Text>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawActions {
    #[serde(rename = "action", default)]
    actions: Vec<Spanned<RawAction>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAction {
    id: Spanned<String>,
    dimension: Spanned<String>,
    from: Spanned<f64>,
    to: Spanned<f64>,
    effort: Spanned<u8>,
    cost: CostClass,
    impact: Spanned<u8>,
    #[serde(default)]
    prerequisites: Vec<Spanned<String>>,
    #[serde(default)]
    standards: Vec<String>,
    title: Spanned<Text>,
    description: Spanned<Text>,
}

struct Checker<'a> {
    problems: Vec<Problem>,
    /// The file being checked, for locations.
    origin: &'a str,
    /// Its text.
    source: &'a str,
}

fn is_identifier(id: &str, dotted: bool) -> bool {
    !id.is_empty()
        && id.chars().all(|c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || (dotted && c == '.')
        })
}

impl<'a> Checker<'a> {
    /// Checks `source` (named `origin`) from now on.
    fn file(&mut self, origin: &'a str, source: &'a str) {
        self.origin = origin;
        self.source = source;
    }

    fn problem(&mut self, offset: usize, path: &str, message: String) {
        self.problems
            .push(Problem::at(self.origin, self.source, offset, path, message));
    }

    fn text(&mut self, path: &str, text: Spanned<Text>) -> Text {
        let offset = text.span().start;
        let text = text.into_inner();
        for lang in super::Lang::ALL {
            if text.get(lang).trim().is_empty() {
                self.problem(
                    offset,
                    &format!("{path}.{}", lang.code()),
                    "missing translation".to_owned(),
                );
            }
        }
        text
    }

    fn id(
        &mut self,
        path: &str,
        id: &Spanned<String>,
        dotted: bool,
        seen: &mut BTreeMap<String, usize>,
    ) {
        let line = |offset| crate::source::line_column(self.source, offset).0;
        if !is_identifier(id.get_ref(), dotted) {
            self.problem(
                id.span().start,
                path,
                format!(
                    "{:?} is not an id: use a-z, 0-9 and '-'{}",
                    id.get_ref(),
                    if dotted {
                        " ('.' after the dimension)"
                    } else {
                        ""
                    }
                ),
            );
        }
        if let Some(first) = seen.insert(id.get_ref().clone(), id.span().start) {
            self.problem(
                id.span().start,
                path,
                format!(
                    "duplicate id {:?} (first at line {})",
                    id.get_ref(),
                    line(first)
                ),
            );
        }
    }

    fn level(&mut self, path: &str, level: &Spanned<f64>) -> Score {
        match Score::from_f64(*level.get_ref())
            .filter(|s| s.is_level() && (s.as_f64() - level.get_ref()).abs() < 1e-9)
        {
            Some(score) => score,
            None => {
                self.problem(
                    level.span().start,
                    path,
                    format!(
                        "{} is not a level of the scale (2.0, 2.5, 3.0, 3.5, 4.0)",
                        level.get_ref()
                    ),
                );
                Score::MIN
            }
        }
    }

    fn questionnaire(&mut self, raw: RawQuestionnaire) -> Questionnaire {
        if raw.id.get_ref().trim().is_empty() {
            self.problem(raw.id.span().start, "id", "must not be empty".to_owned());
        }
        if raw.version.get_ref().trim().is_empty() {
            self.problem(
                raw.version.span().start,
                "version",
                "must not be empty".to_owned(),
            );
        }
        let title = self.text("title", raw.title);
        let mut levels = Vec::new();
        for (index, level) in raw.levels.into_iter().enumerate() {
            let offset = level.span().start;
            let level = level.into_inner();
            let path = format!("level[{index}]");
            let score = self.level(&format!("{path}.level"), &level.level);
            if Score::LEVELS.get(index) != Some(&score) {
                self.problem(offset, &path, format!("levels must be exactly 2.0, 2.5, 3.0, 3.5, 4.0 in that order; found {score} at position {}", index + 1));
            }
            levels.push(LevelDescriptor {
                level: score,
                name: self.text(&format!("{path}.name"), level.name),
                descriptor: self.text(&format!("{path}.descriptor"), level.descriptor),
            });
        }
        if levels.len() < Score::LEVELS.len() {
            self.problem(
                0,
                "level",
                format!(
                    "the scale needs five levels (2.0 … 4.0); found {}",
                    levels.len()
                ),
            );
        }
        let mut dimension_ids = BTreeMap::new();
        let mut question_ids = BTreeMap::new();
        let mut dimensions = Vec::new();
        let mut weight_total = 0u32;
        let weights_offset = raw.dimensions.first().map_or(0, |d| d.span().start);
        for (d_index, dimension) in raw.dimensions.into_iter().enumerate() {
            let d_offset = dimension.span().start;
            let dimension = dimension.into_inner();
            let path = format!("dimension[{d_index}]");
            self.id(
                &format!("{path}.id"),
                &dimension.id,
                false,
                &mut dimension_ids,
            );
            let weight = *dimension.weight.get_ref();
            if weight == 0 {
                self.problem(
                    dimension.weight.span().start,
                    &format!("{path}.weight"),
                    "must be above 0".to_owned(),
                );
            }
            weight_total += weight;
            if dimension.questions.len() < 3 {
                self.problem(
                    d_offset,
                    &format!("{path}.question"),
                    format!(
                        "dimension {:?} has {} questions; at least 3 are needed",
                        dimension.id.get_ref(),
                        dimension.questions.len()
                    ),
                );
            }
            let mut questions = Vec::new();
            for (q_index, question) in dimension.questions.into_iter().enumerate() {
                let q_offset = question.span().start;
                let question = question.into_inner();
                let path = format!("{path}.question[{q_index}]");
                self.id(&format!("{path}.id"), &question.id, true, &mut question_ids);
                let prefix = format!("{}.", dimension.id.get_ref());
                if !question.id.get_ref().starts_with(&prefix) {
                    self.problem(
                        question.id.span().start,
                        &format!("{path}.id"),
                        format!(
                            "{:?} must start with its dimension: {prefix}…",
                            question.id.get_ref()
                        ),
                    );
                }
                if *question.weight.get_ref() == 0 {
                    self.problem(
                        question.weight.span().start,
                        &format!("{path}.weight"),
                        "must be above 0".to_owned(),
                    );
                }
                let mut option_ids = BTreeMap::new();
                let mut options = Vec::new();
                for (o_index, option) in question.options.into_iter().enumerate() {
                    let option = option.into_inner();
                    let path = format!("{path}.option[{o_index}]");
                    self.id(&format!("{path}.id"), &option.id, false, &mut option_ids);
                    if option.id.get_ref() == DONT_KNOW {
                        self.problem(
                            option.id.span().start,
                            &format!("{path}.id"),
                            format!("{DONT_KNOW:?} is reserved for answers"),
                        );
                    }
                    let level = self.level(&format!("{path}.level"), &option.level);
                    if let Some(expected) = Score::LEVELS
                        .get(o_index)
                        .filter(|expected| **expected != level)
                    {
                        self.problem(option.level.span().start, &format!("{path}.level"), format!("options must go up one half step at a time from 2.0 to 4.0: expected {expected} here, found {level}"));
                    }
                    options.push(AnswerOption {
                        id: option.id.into_inner(),
                        level,
                        text: self.text(&format!("{path}.text"), option.text),
                    });
                }
                if options.len() != Score::LEVELS.len() {
                    self.problem(
                        q_offset,
                        &format!("{path}.option"),
                        format!(
                            "question {:?} has {} options; it needs one per level, 2.0 to 4.0 (5)",
                            question.id.get_ref(),
                            options.len()
                        ),
                    );
                }
                questions.push(Question {
                    id: question.id.into_inner(),
                    weight: question.weight.into_inner(),
                    text: self.text(&format!("{path}.text"), question.text),
                    hint: question
                        .hint
                        .map(|hint| self.text(&format!("{path}.hint"), hint)),
                    options,
                });
            }
            dimensions.push(Dimension {
                id: dimension.id.into_inner(),
                group: dimension.group,
                weight,
                name: self.text(&format!("{path}.name"), dimension.name),
                description: self.text(&format!("{path}.description"), dimension.description),
                questions,
            });
        }
        if dimensions.is_empty() {
            self.problem(0, "dimension", "no dimensions".to_owned());
        } else if weight_total != 100 {
            self.problem(
                weights_offset,
                "dimension[*].weight",
                format!("dimension weights add up to {weight_total}, not 100"),
            );
        }
        Questionnaire {
            id: raw.id.into_inner(),
            version: raw.version.into_inner(),
            title,
            levels,
            dimensions,
            rules: Vec::new(),
            actions: Vec::new(),
        }
    }

    fn dimension_ref(&mut self, path: &str, id: &Spanned<String>, known: &[String]) {
        if !known.contains(id.get_ref()) {
            self.problem(
                id.span().start,
                path,
                format!(
                    "unknown dimension {:?} (known: {})",
                    id.get_ref(),
                    known.join(", ")
                ),
            );
        }
    }

    fn rules(&mut self, raw: RawRules, dimensions: &[String]) -> Vec<Rule> {
        let mut ids = BTreeMap::new();
        let mut rules = Vec::new();
        for (index, rule) in raw.rules.into_iter().enumerate() {
            let rule = rule.into_inner();
            let path = format!("rule[{index}]");
            self.id(&format!("{path}.id"), &rule.id, true, &mut ids);
            self.dimension_ref(&format!("{path}.dimension"), &rule.dimension, dimensions);
            let level = self.level(&format!("{path}.level"), &rule.level);
            if rule.when.get_ref().is_empty() {
                self.problem(
                    rule.when.span().start,
                    &format!("{path}.when"),
                    "a rule needs at least one condition".to_owned(),
                );
            }
            let mut conditions = Vec::new();
            for (c_index, condition) in rule.when.into_inner().into_iter().enumerate() {
                let c_path = format!("{path}.when[{c_index}]");
                match parse_condition(condition.get_ref()) {
                    Ok(parsed) => conditions.push(parsed),
                    Err(message) => self.problem(condition.span().start, &c_path, message),
                }
            }
            rules.push(Rule {
                id: rule.id.into_inner(),
                dimension: rule.dimension.into_inner(),
                effect: rule.effect,
                level,
                requires_complete_scope: rule.requires_complete_scope,
                conditions,
                text: self.text(&format!("{path}.text"), rule.text),
            });
        }
        rules
    }

    fn actions(&mut self, raw: RawActions, dimensions: &[String]) -> Vec<Action> {
        let mut ids = BTreeMap::new();
        let mut actions = Vec::new();
        let mut prerequisite_refs = Vec::new();
        for (index, action) in raw.actions.into_iter().enumerate() {
            let action = action.into_inner();
            let path = format!("action[{index}]");
            self.id(&format!("{path}.id"), &action.id, true, &mut ids);
            self.dimension_ref(&format!("{path}.dimension"), &action.dimension, dimensions);
            let from = self.level(&format!("{path}.from"), &action.from);
            let to = self.level(&format!("{path}.to"), &action.to);
            if from.hundredths() + Score::HALF_STEP != to.hundredths() {
                self.problem(action.to.span().start, &format!("{path}.to"), format!("an action serves one half-step transition: from {from} the next level is {}, not {to}", from.plus_half_step()));
            }
            for (field, value) in [("effort", &action.effort), ("impact", &action.impact)] {
                if !(1..=5).contains(value.get_ref()) {
                    self.problem(
                        value.span().start,
                        &format!("{path}.{field}"),
                        format!("{} is outside 1 … 5", value.get_ref()),
                    );
                }
            }
            for (p_index, prerequisite) in action.prerequisites.iter().enumerate() {
                prerequisite_refs.push((
                    index,
                    format!("{path}.prerequisites[{p_index}]"),
                    prerequisite.clone(),
                ));
            }
            actions.push(Action {
                id: action.id.into_inner(),
                dimension: action.dimension.into_inner(),
                from,
                to,
                effort: action.effort.into_inner(),
                cost: action.cost,
                impact: action.impact.into_inner(),
                prerequisites: action
                    .prerequisites
                    .into_iter()
                    .map(Spanned::into_inner)
                    .collect(),
                standards: action.standards,
                title: self.text(&format!("{path}.title"), action.title),
                description: self.text(&format!("{path}.description"), action.description),
            });
        }
        // Prerequisites name known actions and form no cycle.
        let index_of: BTreeMap<&str, usize> = actions
            .iter()
            .enumerate()
            .map(|(i, a)| (a.id.as_str(), i))
            .collect();
        let mut graph = DiGraph::<usize, ()>::new();
        let nodes: Vec<_> = (0..actions.len()).map(|i| graph.add_node(i)).collect();
        for (index, path, prerequisite) in &prerequisite_refs {
            match index_of.get(prerequisite.get_ref().as_str()) {
                Some(&target) if target == *index => {
                    self.problem(
                        prerequisite.span().start,
                        path,
                        format!(
                            "action {:?} cannot be its own prerequisite",
                            actions[*index].id
                        ),
                    );
                }
                Some(&target) => {
                    graph.add_edge(nodes[target], nodes[*index], ());
                }
                None => self.problem(
                    prerequisite.span().start,
                    path,
                    format!("unknown action {:?}", prerequisite.get_ref()),
                ),
            }
        }
        if let Err(cycle) = toposort(&graph, None) {
            let start = graph[cycle.node_id()];
            let (_, path, prerequisite) = prerequisite_refs
                .iter()
                .find(|(index, _, _)| *index == start)
                .expect("a node on a cycle has a prerequisite");
            let members = cycle_members(&graph, cycle.node_id())
                .into_iter()
                .map(|i| actions[i].id.clone())
                .collect::<Vec<_>>();
            self.problem(
                prerequisite.span().start,
                path,
                format!("prerequisites form a cycle: {}", members.join(" → ")),
            );
        }
        // Every transition of every dimension has an action.
        for dimension in dimensions {
            for from in &Score::LEVELS[..4] {
                if !actions
                    .iter()
                    .any(|a| &a.dimension == dimension && a.from == *from)
                {
                    self.problem(
                        0,
                        "action",
                        format!(
                            "dimension {dimension:?} has no action for {from} → {}",
                            from.plus_half_step()
                        ),
                    );
                }
            }
        }
        actions
    }
}

/// The actions on a cycle through `start`, in prerequisite order, ending where it began.
fn cycle_members(graph: &DiGraph<usize, ()>, start: petgraph::graph::NodeIndex) -> Vec<usize> {
    // Depth-first search for a path back to `start`.
    let mut stack = vec![(start, vec![start])];
    let mut visited = BTreeSet::new();
    while let Some((node, path)) = stack.pop() {
        for next in graph.neighbors(node) {
            if next == start {
                let mut members: Vec<usize> = path.iter().map(|n| graph[*n]).collect();
                members.push(graph[start]);
                return members;
            }
            if visited.insert(next) {
                let mut longer = path.clone();
                longer.push(next);
                stack.push((next, longer));
            }
        }
    }
    vec![graph[start]]
}

/// Parses `FACT OP NUMBER`.
fn parse_condition(text: &str) -> Result<Condition, String> {
    let parts: Vec<&str> = text.split_whitespace().collect();
    let [fact, op, value] = parts[..] else {
        return Err(format!(
            "{text:?} is not a condition: write FACT OP NUMBER, e.g. \"opcua.servers == 0\""
        ));
    };
    let op = match op {
        "==" => Op::Eq,
        "!=" => Op::Ne,
        "<" => Op::Lt,
        "<=" => Op::Le,
        ">" => Op::Gt,
        ">=" => Op::Ge,
        other => {
            return Err(format!(
                "unknown operator {other:?}: use ==, !=, <, <=, > or >="
            ));
        }
    };
    let value = value
        .parse::<u64>()
        .map_err(|_| format!("{value:?} is not a whole number"))?;
    if !facts::is_known(fact) {
        let vocabulary = facts::vocabulary();
        let close: Vec<&String> = vocabulary
            .iter()
            .filter(|known| known.split('.').next() == fact.split('.').next())
            .collect();
        let hint = if close.is_empty() {
            "see docs/questionnaire.md for the facts".to_owned()
        } else {
            format!(
                "facts of that kind: {}",
                close
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        return Err(format!("unknown fact {fact:?}; {hint}"));
    }
    Ok(Condition {
        fact: fact.to_owned(),
        op,
        value,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_questionnaire_is_complete() {
        let questionnaire = Questionnaire::builtin();
        assert_eq!(questionnaire.id, "i4gauge-core");
        let ids: Vec<&str> = questionnaire
            .dimensions
            .iter()
            .map(|d| d.id.as_str())
            .collect();
        assert_eq!(
            ids,
            [
                "automation",
                "connectivity",
                "data-analytics",
                "cybersecurity",
                "vertical-integration",
                "horizontal-integration",
                "workforce",
                "strategy"
            ]
        );
        assert_eq!(
            questionnaire
                .dimensions
                .iter()
                .map(|d| d.weight)
                .sum::<u32>(),
            100
        );
        assert!(
            questionnaire
                .dimensions
                .iter()
                .all(|d| d.questions.len() >= 3)
        );
        assert!(questionnaire.rules.len() >= 10);
        // The rules the method names exist with the documented effect.
        let rule = questionnaire.rule("connectivity.modbus-only").unwrap();
        assert_eq!(
            (rule.effect, rule.level),
            (Effect::Cap, Score::from_hundredths(300))
        );
        let rule = questionnaire.rule("cybersecurity.open-opcua").unwrap();
        assert_eq!(
            (rule.effect, rule.level),
            (Effect::Cap, Score::from_hundredths(250))
        );
        let rule = questionnaire.rule("connectivity.companion-specs").unwrap();
        assert_eq!(
            (rule.effect, rule.level),
            (Effect::Floor, Score::from_hundredths(350))
        );
        // Every rule reasoning from absence (a fact compared with 0 by `==`) waits for a complete scope.
        for rule in &questionnaire.rules {
            let absence = rule
                .conditions
                .iter()
                .any(|c| c.op == Op::Eq && c.value == 0 && c.fact != "scan.incomplete");
            assert!(
                !absence || rule.requires_complete_scope,
                "{} reasons from absence",
                rule.id
            );
        }
        assert!(questionnaire.actions.len() >= 32);
    }
}
