"""The rule engine: rules.yaml compiled into conditions, actions and reasons."""

from .loader import RulesError, load_rules, parse_rules
from .reloader import RulesReloader
from .ruleset import Rule, RuleSet, SiteRule

__all__ = ["Rule", "RuleSet", "RulesError", "RulesReloader", "SiteRule", "load_rules", "parse_rules"]
