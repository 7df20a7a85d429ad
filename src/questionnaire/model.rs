//! The validated questionnaire: what [`super::load`] produces and scoring,
//! interview and report read. Field meanings are documented in
//! `docs/questionnaire.md`.

use serde::{Deserialize, Serialize};

use super::Lang;
use crate::scale::Score;

/// A text in the three languages, none empty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Text {
    /// Kazakh.
    pub kk: String,
    /// Russian.
    pub ru: String,
    /// English.
    pub en: String,
}

impl Text {
    /// The text in `lang`.
    pub fn get(&self, lang: Lang) -> &str {
        match lang {
            Lang::Kk => &self.kk,
            Lang::Ru => &self.ru,
            Lang::En => &self.en,
        }
    }
}

/// A whole questionnaire: questions, evidence rules and the action library.
#[derive(Debug, Clone, PartialEq)]
pub struct Questionnaire {
    /// Stable id, recorded in assessments.
    pub id: String,
    /// Version, recorded in assessments.
    pub version: String,
    /// Title.
    pub title: Text,
    /// The five levels of the scale with their descriptors, ascending.
    pub levels: Vec<LevelDescriptor>,
    /// Dimensions in file order.
    pub dimensions: Vec<Dimension>,
    /// Evidence rules in file order.
    pub rules: Vec<Rule>,
    /// Roadmap actions in file order.
    pub actions: Vec<Action>,
}

impl Questionnaire {
    /// The dimension with `id`.
    pub fn dimension(&self, id: &str) -> Option<&Dimension> {
        self.dimensions.iter().find(|d| d.id == id)
    }

    /// The question with `id` and its dimension.
    pub fn question(&self, id: &str) -> Option<(&Dimension, &Question)> {
        self.dimensions
            .iter()
            .find_map(|d| d.questions.iter().find(|q| q.id == id).map(|q| (d, q)))
    }

    /// Every question, dimension by dimension.
    pub fn questions(&self) -> impl Iterator<Item = (&Dimension, &Question)> {
        self.dimensions
            .iter()
            .flat_map(|d| d.questions.iter().map(move |q| (d, q)))
    }

    /// The rule with `id`.
    pub fn rule(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.id == id)
    }

    /// The action with `id`.
    pub fn action(&self, id: &str) -> Option<&Action> {
        self.actions.iter().find(|a| a.id == id)
    }

    /// The descriptor of a level of the scale.
    pub fn level(&self, level: Score) -> Option<&LevelDescriptor> {
        self.levels.iter().find(|l| l.level == level)
    }
}

/// One level of the scale.
#[derive(Debug, Clone, PartialEq)]
pub struct LevelDescriptor {
    /// 2.0, 2.5, 3.0, 3.5 or 4.0.
    pub level: Score,
    /// Short name ("Automated islands").
    pub name: Text,
    /// What one sees on the plant network and floor.
    pub descriptor: Text,
}

/// Which part of the method a dimension belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Group {
    /// Automation, connectivity, data, cybersecurity.
    Technology,
    /// Vertical and horizontal integration.
    Process,
    /// Skills, strategy.
    Organisation,
}

/// A dimension of the method.
#[derive(Debug, Clone, PartialEq)]
pub struct Dimension {
    /// Id (`connectivity`).
    pub id: String,
    /// Group.
    pub group: Group,
    /// Published weight in percent; all dimensions add up to 100.
    pub weight: u32,
    /// Name.
    pub name: Text,
    /// What it covers.
    pub description: Text,
    /// Questions, in the order they are asked.
    pub questions: Vec<Question>,
}

/// A question.
#[derive(Debug, Clone, PartialEq)]
pub struct Question {
    /// Id (`connectivity.protocols`).
    pub id: String,
    /// Relative weight within its dimension.
    pub weight: u32,
    /// The question as asked.
    pub text: Text,
    /// What to look at to answer it.
    pub hint: Option<Text>,
    /// One option per level, ascending.
    pub options: Vec<AnswerOption>,
}

impl Question {
    /// The option with `id`.
    pub fn option(&self, id: &str) -> Option<&AnswerOption> {
        self.options.iter().find(|o| o.id == id)
    }
}

/// An option of a question.
#[derive(Debug, Clone, PartialEq)]
pub struct AnswerOption {
    /// Id, unique within the question.
    pub id: String,
    /// Its level on the scale.
    pub level: Score,
    /// The concrete descriptor.
    pub text: Text,
}

/// What a rule does to a dimension's verified score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Effect {
    /// Verified score at most the rule's level.
    Cap,
    /// Verified score at least the rule's level.
    Floor,
}

/// A comparison operator of a rule condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    /// `==`
    #[serde(rename = "==")]
    Eq,
    /// `!=`
    #[serde(rename = "!=")]
    Ne,
    /// `<`
    #[serde(rename = "<")]
    Lt,
    /// `<=`
    #[serde(rename = "<=")]
    Le,
    /// `>`
    #[serde(rename = ">")]
    Gt,
    /// `>=`
    #[serde(rename = ">=")]
    Ge,
}

impl Op {
    /// The operator as written.
    pub fn symbol(self) -> &'static str {
        match self {
            Op::Eq => "==",
            Op::Ne => "!=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
        }
    }

    /// Whether `left OP right` holds.
    pub fn holds(self, left: u64, right: u64) -> bool {
        match self {
            Op::Eq => left == right,
            Op::Ne => left != right,
            Op::Lt => left < right,
            Op::Le => left <= right,
            Op::Gt => left > right,
            Op::Ge => left >= right,
        }
    }
}

/// `FACT OP NUMBER`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    /// A fact of [`crate::evidence::facts`].
    pub fact: String,
    /// Comparison.
    pub op: Op,
    /// Right-hand side.
    pub value: u64,
}

impl std::fmt::Display for Condition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {} {}", self.fact, self.op.symbol(), self.value)
    }
}

/// An evidence rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// Id.
    pub id: String,
    /// The dimension it acts on.
    pub dimension: String,
    /// Cap or floor.
    pub effect: Effect,
    /// The cap or floor.
    pub level: Score,
    /// Whether it reasons from absence and so needs a scope declared complete.
    pub requires_complete_scope: bool,
    /// All must hold.
    pub conditions: Vec<Condition>,
    /// What it says.
    pub text: Text,
}

/// Cost class of an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CostClass {
    /// Within an operating budget.
    Low,
    /// Needs a budget line.
    Medium,
    /// Needs an investment decision.
    High,
}

/// A roadmap action.
#[derive(Debug, Clone, PartialEq)]
pub struct Action {
    /// Id.
    pub id: String,
    /// The dimension it raises.
    pub dimension: String,
    /// Transition start.
    pub from: Score,
    /// Transition end (`from` + 0.5).
    pub to: Score,
    /// 1 (weeks, in-house) … 5 (multi-year programme).
    pub effort: u8,
    /// Cost class.
    pub cost: CostClass,
    /// 1 … 5.
    pub impact: u8,
    /// Actions that must come first.
    pub prerequisites: Vec<String>,
    /// Related standards.
    pub standards: Vec<String>,
    /// Title.
    pub title: Text,
    /// What to do.
    pub description: Text,
}
