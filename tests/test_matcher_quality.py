"""The matcher against the development sets: issue 2's thresholds on devset, devset3, devset5,
devset7, devset8, devset13, devset16, devset19, devset21 and devset22, regression floors on the
harder devset2, devset4, devset6, devset9 to devset12, devset14, devset15, devset17, devset18
and devset20, plus behaviour checks.

devset3 to devset22 were written from the notice alone by writers who never saw the matcher.
tests/data/holdout2.yaml … holdout7.yaml are held out: only scored (README), never read while
tuning (holdout.yaml was read and is development data)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from knowledge import Decision, KnowledgeBase
from knowledge.enrich import check_out_of_scope, load_intents
from knowledge.tools.evaluate import THRESHOLDS, Report, evaluate, load, table

DATA = Path(__file__).resolve().parent / "data"
DEVSET = DATA / "devset.yaml"
DEVSET2 = DATA / "devset2.yaml"
# Sets that reach every one of issue 2's thresholds.
FULL_SETS = ("devset", "devset3", "devset5", "devset7", "devset8", "devset13", "devset16",
             "devset19", "devset21", "devset22")

# devset2 (everyday paraphrases, varied contact and meta wording) holds floors: the figures the
# matcher reaches, rounded down a little. They only go up — raise them when the matcher
# improves, never lower them to make a change pass. It reached: item zh 98.9%, en 94.4%,
# hant/mixed 100%, out of scope 100%, contact + meta 98.7%, wrong item 0.3%.
DEVSET2_FLOORS = {
    "item zh": 0.97,
    "item en": 0.94,
    "item hant/mixed": 0.95,
    "out of scope → none": 0.98,
    "contact + meta": 0.97,
}
DEVSET2_ITEM_OVERALL = 0.96  # item questions of every language together
DEVSET2_MAX_WRONG_ITEM = 0.01  # wrong `item` answers, as a share of all questions
# The hardest sets hold floors the same way: set → (floor per category, most wrong `item`
# answers as a share of all questions), with what each set is and what it reached.
HARD_SETS: dict[str, tuple[dict[str, float], float]] = {
    # near-misses and paraphrases sharing as few words with the notice as the writer could:
    # item zh 90.0%, en 96.4%, hant/mixed 100%, out of scope 100%, contact + meta 100%, wrong 0%
    "devset4": ({"item zh": 0.88, "item en": 0.92, "item hant/mixed": 0.95,
                 "out of scope → none": 0.98, "contact + meta": 0.95}, 0.01),
    # two or three near-misses for every item: item zh, en, hant/mixed 100%, out of scope 97.1%,
    # contact + meta 100%, wrong 1.3%
    "devset6": ({"item zh": 0.97, "item en": 0.88, "item hant/mixed": 0.80,
                 "out of scope → none": 0.95, "contact + meta": 0.94}, 0.015),
    # Chinese item questions, four or five for every item: item zh 98.4%, hant/mixed 95.7%
    "devset9": ({"item zh": 0.96, "item hant/mixed": 0.95}, 0.005),
    # colloquial Chinese for every item, 30 long rambling ones, near-misses, facts not given:
    # item zh 93.5%, traditional 100%, out of scope 100%, wrong 0%
    "devset10": ({"item zh": 0.92, "item hant/mixed": 0.95, "out of scope → none": 0.97},
                 0.005),
    # everyday English as a foreign resident or a journalist asks, short colloquial Chinese:
    # item zh 95.4%, en 96.3%, mixed 100%, out of scope 100%, contact + meta 100%, wrong 0%
    "devset11": ({"item zh": 0.93, "item en": 0.94, "item hant/mixed": 0.95,
                  "out of scope → none": 0.96, "contact + meta": 0.95}, 0.005),
    # 163 of 223 questions share the notice's words but ask what it does not say: item zh
    # 100%, out of scope 98.8%, wrong 0.9%
    "devset12": ({"item zh": 0.96, "item hant/mixed": 0.5, "out of scope → none": 0.97}, 0.01),
    # contact and meta asked in every way, bilingual item questions: contact + meta 100%,
    # mixed 97.7%, out of scope 100%, wrong 0%
    "devset14": ({"contact + meta": 0.97, "item hant/mixed": 0.95,
                  "out of scope → none": 0.97}, 0.005),
    # the notice as a whole asked in the items' words, facts not given, keywords: contact +
    # meta 98.2%, item zh 97.6%, out of scope 98.0%, wrong 1.2%
    "devset15": ({"contact + meta": 0.96, "item zh": 0.96, "out of scope → none": 0.94},
                 0.015),
    # five kinds of resident, each in their own words: item zh 96.7%, en 90.9%, hant/mixed
    # 100%, out of scope 100%, contact + meta 100%, wrong 0%
    "devset17": ({"item zh": 0.95, "item en": 0.89, "item hant/mixed": 0.97,
                  "out of scope → none": 0.97, "contact + meta": 0.96}, 0.005),
    # a third of the questions long, the asker's own circumstances first: item zh 95.5%, en
    # 90.6%, hant/mixed 94.4%, out of scope 100%, contact + meta 100%, wrong 0%
    "devset18": ({"item zh": 0.94, "item en": 0.88, "item hant/mixed": 0.92,
                  "out of scope → none": 0.97, "contact + meta": 0.96}, 0.005),
    # mostly English, from expats, investors and journalists; bilingual questions: item en
    # 94.1%, mixed 95.2%, zh 95.0%, out of scope 100%, contact + meta 100%, wrong 0%
    "devset20": ({"item zh": 0.9, "item en": 0.92, "item hant/mixed": 0.92,
                  "out of scope → none": 0.97, "contact + meta": 0.96}, 0.005),
}
ITEM_CATEGORIES = ("item zh", "item en", "item hant/mixed")


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return KnowledgeBase.load_default()


_REPORTS: dict[Path, Report] = {}


def _report(path: Path, kb: KnowledgeBase) -> Report:
    if not path.exists():
        pytest.skip(f"{path.name} is not there")
    if path not in _REPORTS:
        _REPORTS[path] = evaluate(load(path), kb.ask)
    return _REPORTS[path]


@pytest.fixture
def report(kb: KnowledgeBase) -> Report:
    return _report(DEVSET, kb)


@pytest.fixture
def report2(kb: KnowledgeBase) -> Report:
    return _report(DEVSET2, kb)


@pytest.fixture(params=FULL_SETS)
def report_full(request: pytest.FixtureRequest, kb: KnowledgeBase) -> Report:
    return _report(DATA / f"{request.param}.yaml", kb)


@pytest.fixture(params=list(HARD_SETS))
def hard(
    request: pytest.FixtureRequest, kb: KnowledgeBase
) -> tuple[Report, dict[str, float], float]:
    floors, max_wrong = HARD_SETS[request.param]
    return _report(DATA / f"{request.param}.yaml", kb), floors, max_wrong


def _explain(report: Report) -> str:
    return report.summary() + "\nMistakes:\n" + "\n".join(report.errors)


class TestDevsetThresholds:
    def test_devset_is_large_enough(self) -> None:
        """The development set has at least 300 labelled questions."""
        assert len(load(DEVSET)) >= 300
        if DEVSET2.exists():
            assert len(load(DEVSET2)) >= 300

    @pytest.mark.parametrize("category", sorted(THRESHOLDS))
    def test_category_threshold(self, report_full: Report, category: str) -> None:
        """Each category reaches issue 2's share of right answers on devset, devset3, devset5,
        devset7, devset8, devset13, devset16, devset19, devset21 and devset22."""
        assert report_full.count[category] > 0
        assert report_full.rate(category) >= THRESHOLDS[category], _explain(report_full)

    def test_wrong_items_are_rare(self, report_full: Report) -> None:
        """Confidently wrong item answers stay at or below 1% of all questions."""
        assert report_full.wrong_item <= 0.01 * report_full.total, _explain(report_full)


class TestDevset2Floors:
    """devset2 is the hard set: everyday paraphrases of the items in words the notice does not
    use, and varied contact/meta wording. It does not reach every issue-2 threshold yet, so it
    holds regression floors instead — the figures reached so far, rounded down a little. The
    floors only go up: raise them as the matcher improves; never lower one to let a change in.
    Wrong item answers are held to issue 2's own limit (≤ 1% of all questions)."""

    @pytest.mark.parametrize("category", sorted(DEVSET2_FLOORS))
    def test_category_floor(self, report2: Report, category: str) -> None:
        """Each category stays at or above its devset2 floor."""
        assert report2.count[category] > 0
        assert report2.rate(category) >= DEVSET2_FLOORS[category], _explain(report2)

    def test_item_overall_floor(self, report2: Report) -> None:
        """Item questions of all languages together stay at or above the floor."""
        right = sum(report2.right[c] for c in ITEM_CATEGORIES)
        count = sum(report2.count[c] for c in ITEM_CATEGORIES)
        assert count > 0
        assert right / count >= DEVSET2_ITEM_OVERALL, _explain(report2)

    def test_wrong_items_are_rare(self, report2: Report) -> None:
        """Wrong item answers stay at or below 1% of all devset2 questions."""
        assert report2.wrong_item <= DEVSET2_MAX_WRONG_ITEM * report2.total, _explain(report2)


class TestHardSetFloors:
    """devset4, devset6, devset9 … devset12, devset14, devset15, devset17, devset18 and devset20
    are the hardest sets: near-misses of many kinds (devset6: for every item; devset12: facts the
    notice does not give), paraphrases that avoid the notice's words, colloquial Chinese for
    every item (devset9, devset10), everyday English (devset11), contact and meta asked in
    every way (devset14), the notice as a whole asked in the items' own words (devset15),
    residents of five kinds (devset17), long questions that tell the asker's circumstances
    first (devset18), mostly English (devset20). They hold regression floors (the floors only
    go up)."""

    @pytest.mark.parametrize("category", sorted(THRESHOLDS))
    def test_category_floor(
        self, hard: tuple[Report, dict[str, float], float], category: str
    ) -> None:
        """Each category the set has a floor for stays at or above it."""
        report, floors, _ = hard
        if category not in floors:
            pytest.skip(f"no {category} questions in this set")
        assert report.count[category] > 0
        assert report.rate(category) >= floors[category], _explain(report)

    def test_wrong_items_stay_rare(self, hard: tuple[Report, dict[str, float], float]) -> None:
        """Wrong item answers stay at or below the set's limit."""
        report, _, max_wrong = hard
        assert report.wrong_item <= max_wrong * report.total, _explain(report)


_META_PROBES = (
        "这次巡察是谁派来的",
        "巡察组是市委派的还是省委派的",
        "第三巡察组啥时候进驻的",
        "巡察一共搞了多久",
        "巡察意见是哪天反馈的",
        "一共发现了几个问题",
        "问题分成几大类",
        "四个方面都是啥",
        "整改完成了多少",
        "还有多少没整改完",
        "哪些是长期坚持的",
        "整改领导小组组长是谁",
        "谁是整改第一责任人",
        "整改有没有建台账",
        "有没有对整改不力的追责",
        "这个通报是谁发的",
        "通报啥时候发的",
        "通报主要讲了啥",
        "下一步还要干什么",
        "后续整改有什么打算",
        "以后会不会继续公开整改情况",
        "整改的总体情况怎么样",
        "巡察整改这个事园区重视不",
        "党工委怎么抓的整改",
        "是不是常规巡察",
        "巡察反馈意见有哪些",
        "整改成果怎么运用",
        "who did the inspection",
        "when did the inspection take place",
        "how many problems were found",
        "how many are fixed",
        "what is still unfinished",
        "who leads the rectification work",
        "what are the next steps",
        "who published this notice",
        "when was this published",
        "what's this notice about",
        "how did the party committee organise the rectification",
        "is the rectification over",
        "are they going to keep publishing updates",
        "整改是不是都搞完了",
        "巡察组的意见园区都认了吗",
    "腐败问题方面整改得怎么样",
    "不正之风的问题整改完了吗",
    "基层党组织建设方面查出了啥问题",
    "决策部署落实方面有哪些问题",
    "群众身边的腐败问题有几个",
    "党员队伍建设的问题整改完了没",
    "第四方面的问题都改好了吗",
    "how is the party building area doing",
    "which area has the most problems",
    "what were the four categories",
    "how many are long-term",
    "what does long-term mean here",
)

_CONTACT_PROBES = (
    "我要投诉",
    "我想举报",
    "有意见找谁",
    "意见往哪里提",
    "你们电话多少",
    "联系电话是好多",
    "能给个邮箱吗",
    "邮箱地址",
    "信寄到哪里",
    "可以写信吗",
    "办公地址在哪",
    "怎么联系你们",
    "我要反映问题",
    "对整改不满意怎么办",
    "我想提个建议",
    "怎么给你们提意见",
    "可以匿名举报吗",
    "打哪个电话能反映情况",
    "有没有投诉热线",
    "028-38183651是哪里的电话",
    "631755679@qq.com是你们的邮箱吗",
    "金园东路10号是哪里",
    "how do I complain",
    "how can I give feedback",
    "what's your phone number",
    "can I email you",
    "where do I send a letter",
    "who do I contact about the rectification",
    "I want to report a problem",
    "is there a hotline",
    "how do I reach the working committee",
    "我能当面去反映吗",
)
_NONE_PROBES = (
    "今天天气怎么样",
    "眉山到成都的高铁几点",
    "社保卡怎么补办",
    "东坡区人民医院怎么挂号",
    "我家小孩上学的事找谁",
    "眉山房价现在多少",
    "高新区有没有好吃的火锅",
    "成都高新区污水处理厂扩建了吗",
    "乐山化工园区搬迁了吗",
    "2023年的巡察整改情况",
    "省委巡视组什么时候来",
    "我家的拆迁款什么时候发",
    "老板欠我工资怎么办",
    "今天园区停电了吗",
    "万华化学的招聘信息",
    "园区有多少家企业",
    "高新区GDP多少",
    "人才公寓怎么申请",
    "人才公寓房租多少钱一个月",
    "政务服务大厅几点上班",
    "污水处理厂三期投资多少",
    "污水处理厂三期什么时候完工",
    "电动巡逻车花了多少钱",
    "食堂一顿饭多少钱",
    "纪工委书记叫什么名字",
    "哪家公司承建的污水厂",
    "园区管委会主任是谁",
    "公车私用的人被处分了吗",
    "43项制度的全文在哪看",
    "重庆大学技术转移中心在哪",
    "what's the weather like",
    "where can I buy train tickets",
    "how much did the sewage plant expansion cost",
    "who is the party secretary",
    "when will phase 3 be finished",
    "how many companies are in the zone",
    "can I rent a talent apartment",
    "is there a job at the wastewater plant",
    "hi",
    "thanks",
    "你好",
    "在吗",
    "谢谢你",
    "你是机器人吗",
)


class TestGuards:
    """The general rules behind 'not in this notice' and behind long colloquial questions."""

    def test_a_fact_the_item_does_not_give(self, kb: KnowledgeBase) -> None:
        """A question asking for a kind of fact (an amount, opening hours, a name, a place)
        gets the item only if the item's text holds such a fact."""
        assert kb.ask("污水处理厂三期").items[:1] == (12,)
        assert kb.ask("污水处理厂三期总投资多少").kind == "none"
        assert kb.ask("政务服务大厅几点下班").kind == "none"
        assert kb.ask("土方转运回填是哪家施工队干的").kind == "none"
        assert kb.ask("How much did those electric patrol cars cost?").kind == "none"

    def test_everyday_ways_of_asking_for_a_fact(self, kb: KnowledgeBase) -> None:
        """Who approved it, its budget, how long it takes, what caused it: no item says, for
        any item's subject."""
        for question in ("中心组学习谁批的", "人才公寓预算多少", "第一议题要多久",
                         "食堂管理混乱什么原因", "what caused the debt risk",
                         "污水处理厂三期依据哪条规定"):
            assert kb.ask(question).kind == "none", question
        assert kb.ask("污水处理厂三期").items[:1] == (12,)

    def test_the_notice_as_a_whole_in_everyday_words(self, kb: KnowledgeBase) -> None:
        """Common ways of asking who inspected, when, how many, how far, what next, who
        published it, how it was led: all meta, none taken for an item that shares a word."""
        wrong = [q for q in _META_PROBES if kb.ask(q).kind != "meta"]
        assert not wrong, wrong

    def test_the_channels_in_everyday_words(self, kb: KnowledgeBase) -> None:
        """Common ways of asking how to complain, the phone, the e-mail, the address: contact."""
        wrong = [q for q in _CONTACT_PROBES if kb.ask(q).kind != "contact"]
        assert not wrong, wrong

    def test_what_the_notice_does_not_cover(self, kb: KnowledgeBase) -> None:
        """Everyday questions the notice does not answer — other places and rounds, one's own
        case, prices, names, dates it does not give, chit-chat — are all none."""
        wrong = [q for q in _NONE_PROBES if kb.ask(q).kind != "none"]
        assert not wrong, wrong

    def test_an_area_asked_about_as_a_whole(self, kb: KnowledgeBase) -> None:
        """An area's problems as a whole are meta, for that area; an item of the area asked by
        its own title stays that item."""
        decision = kb.ask("腐败问题方面整改得怎么样")
        assert (decision.kind, decision.area) == ("meta", 2)
        assert kb.ask("党建工作重视不够整改了吗").items[:1] == (45,)

    def test_a_count_in_another_measure(self, kb: KnowledgeBase) -> None:
        """A count the item gives answers 'how many' only in the measure asked for: 30万吨 is
        not how many 亩; 3名干部 is how many people."""
        assert kb.ask("金象赛瑞D区那个项目拿了多少亩地").kind == "none"
        assert kb.ask("金象赛瑞D区那个项目年产多少吨").items[:1] == (22,)
        assert kb.ask("纪检监察内审室调了几个人过去").items[:1] == (26,)
        assert kb.ask("How many mu of land did the Jinxiang Sairui project get?").kind == "none"

    def test_a_year_the_notice_never_mentions(self, kb: KnowledgeBase) -> None:
        """Another year's report is not this one; this notice's own years still match."""
        assert kb.ask("2021年污水处理厂扩建了吗").kind == "none"
        assert kb.ask("2024年巡察是哪个组来的").kind == "meta"

    def test_counting_something_else(self, kb: KnowledgeBase) -> None:
        """'How many' about the notice's problems is meta; about anything else it is not."""
        assert kb.ask("一共发现多少个问题").kind == "meta"
        assert kb.ask("高新区有多少人").kind == "none"
        assert kb.ask("how many companies are in the zone").kind == "none"

    def test_long_colloquial_question_about_one_subject(self, kb: KnowledgeBase) -> None:
        """A long question in a resident's own words gets the one item its subject belongs to;
        a short one that adds an unexplained subject does not."""
        decision = kb.ask("国企那个食堂买菜记账一塌糊涂,管起来了没")
        assert (decision.kind, decision.items[:1]) == ("item", (30,))
        assert kb.ask("哪里可以承包工厂食堂").kind != "item"

    def test_own_circumstances_told_on_the_side(self, kb: KnowledgeBase) -> None:
        """Where a resident lives or rents, told in its own clause of a long question, does
        not make its subject out of scope; a place in the subject's own clause does."""
        aside = kb.ask("我住在高新区边上,夏天河沟那边味道挺冲的,邻居说园区污水厂处理不过来了满负荷"
                       "在转,想问问到底有没有在扩建,扩建到哪一步了")
        assert (aside.kind, aside.items[:1]) == ("item", (12,))
        assert kb.ask("我住在成都那边,最近老是闻到臭味,想问问成都高新区的污水处理厂扩建到哪一步了,"
                      "有没有消息").kind == "none"
        assert kb.ask("110千伏高压线离我家太近有辐射吗").kind == "none"

    def test_english_phrases_with_stopwords_and_word_families(self, kb: KnowledgeBase) -> None:
        """Listed English phrases match even with a stopword inside (one stop service), and a
        word family shares one stem (industrial / industry)."""
        from knowledge.normalize import word_key

        assert kb.ask("is there a one stop service hall now").items[:1] == (20,)
        assert word_key("industrial") == word_key("industries") == word_key("industry")

    def test_overlapping_ways_of_asking(self, kb: KnowledgeBase) -> None:
        """Every way of asking in a question counts, also where two overlap (有建议 + 建议想提)."""
        assert kb.ask("我有建议想提 怎么弄嘛").kind == "contact"


class TestOutOfScopeTerms:
    def test_term_inside_a_notice_word_does_not_count(self, kb: KnowledgeBase) -> None:
        """An out-of-scope term inside a longer word of the notice or an alias (路线 in 铁路线,
        登记 in 资产登记, 价格 in 价格下限, 中学 in 集中学习) does not make the question none."""
        assert kb.ask("铁路线那个项目").items[:1] == (51,)
        assert kb.ask("公家资产登记乱").items[:1] == (33,)
        assert kb.ask("招标的时候设了个价格下限 违规吗").items[:1] == (34,)
        assert kb.ask("集中学习").kind != "none"

    def test_term_on_its_own_still_counts(self, kb: KnowledgeBase) -> None:
        """The same terms standing on their own still mark a question the notice lacks."""
        assert kb.ask("眉山中学招生").kind == "none"
        assert kb.ask("成都污水处理厂").kind == "none"
        assert kb.ask("坐几路车去高新区").kind == "none"

    def test_validation_rejects_terms_in_the_notice(self, kb: KnowledgeBase) -> None:
        """An out-of-scope term found in the notice text or an alias is a file:line error,
        unless listed under out_of_scope_allowed; the bundled files pass."""
        intents = load_intents()
        aliases = [a for e in kb.enrichment.items.values() for a in e.aliases]
        aliases += [m for group in kb.enrichment.synonyms for m in group]
        assert check_out_of_scope(intents, kb.notice.text, aliases) == []
        bad = dataclasses.replace(intents, out_of_scope_entries=(("成都|路线", 7),),
                                  out_of_scope_allowed=frozenset())
        errors = check_out_of_scope(bad, "修了铁路线", ["资产登记"])
        assert len(errors) == 1 and errors[0].startswith("intents.yaml:7: ")
        assert "路线" in errors[0]
        allowed = dataclasses.replace(bad, out_of_scope_allowed=frozenset({"路线"}))
        assert check_out_of_scope(allowed, "修了铁路线", ["资产登记"]) == []


class TestDecisions:
    def test_decision_shape(self, kb: KnowledgeBase) -> None:
        """A decision is frozen and carries the question, kind, items, score and language."""
        decision = kb.ask("污水处理厂三期")
        assert isinstance(decision, Decision)
        assert (decision.kind, decision.items, decision.lang) == ("item", (12,), "zh")
        assert 0.0 < decision.score <= 1.0
        with pytest.raises(AttributeError):
            decision.kind = "none"  # type: ignore[misc]

    def test_english_answer_language(self, kb: KnowledgeBase) -> None:
        """An English question is answered through the English text, marked 'en'."""
        decision = kb.ask("sewage treatment plant phase three")
        assert (decision.kind, decision.items, decision.lang) == ("item", (12,), "en")

    def test_near_miss_is_none(self, kb: KnowledgeBase) -> None:
        """A question sharing words with an item but about another place is none."""
        assert kb.ask("成都污水处理厂").kind == "none"
        assert kb.ask("污水处理厂").kind == "item"

    def test_homophone_typos(self, kb: KnowledgeBase) -> None:
        """Pinyin-input homophones are forgiven (处里/处理, 巡查/巡察, 宫寓/公寓)."""
        assert kb.ask("污水出理").items[:1] == (12,)
        assert kb.ask("人才宫寓").items[:1] == (23,)
        assert kb.ask("巡查组是哪个").kind == "meta"

    def test_greetings_in_either_script(self, kb: KnowledgeBase) -> None:
        """A greeting listed among Chinese ones under one anchor (^(你好|hello|...)) is still
        a greeting in English; a word that merely starts like one (high, hiring) is not."""
        prepare = kb.matcher.prepare
        assert prepare("good morning").greeting and prepare("hello").greeting
        assert prepare("你好").greeting
        assert not prepare("high tech zone wastewater plant").greeting

    def test_out_of_scope_name_with_a_typo_inside(self, kb: KnowledgeBase) -> None:
        """A name of another inspection round stays out of scope when a typo fix changed a
        character inside it (巡查组下次 → 巡察组下次)."""
        assert kb.ask("巡查组下次啥时候再来高新区").kind == "none"
        assert kb.ask("巡查组是啥时候来的").kind == "meta"

    def test_no_typo_where_there_is_none(self, kb: KnowledgeBase) -> None:
        """A numeral with its measure word, an everyday word, and a fix that would only join up
        through a particle are left as typed."""
        prepare = kb.matcher.prepare
        assert "一家小企业" in prepare("我们是园区一家小企业").text
        assert "邻居说" in prepare("邻居说是园区污水厂处理不过来").text
        assert "污水处理" in prepare("园区污水出理厂").text

    def test_contact_topics(self, kb: KnowledgeBase) -> None:
        """Contact questions carry the channel asked for."""
        assert (kb.ask("邮箱是多少").kind, kb.ask("邮箱是多少").topic) == ("contact", "email")
        assert kb.ask("what's the phone number?").topic == "phone"

    def test_meta_topics(self, kb: KnowledgeBase) -> None:
        """Questions about the notice as a whole carry their topic."""
        assert kb.ask("一共发现了多少个问题").topic == "count"
        assert kb.ask("下一步有什么打算").topic == "next_steps"
        assert kb.ask("这个通报是谁发的").topic == "publisher"

    def test_ambiguous_offers_at_most_three(self, kb: KnowledgeBase) -> None:
        """A keyword shared by several items is ambiguous with at most 3 candidates."""
        decision = kb.ask("招标")
        assert decision.kind == "ambiguous"
        assert set(decision.items) <= {34, 35, 36} and len(decision.items) <= 3

    def test_item_confidence_above_none(self, kb: KnowledgeBase) -> None:
        """A clear item answer scores higher than a rejected near miss."""
        assert kb.ask("污水处理厂三期开工了吗").score > kb.ask("成都污水处理厂").score


class TestOtherViews:
    def test_search_partial_query(self, kb: KnowledgeBase) -> None:
        """Inline search finds items for a partial query and nothing for gibberish."""
        assert kb.search("污水")[:1] == [12]
        assert kb.search("12") == [12]
        assert kb.search("zzqx") == []

    def test_related_items(self, kb: KnowledgeBase) -> None:
        """Related items exclude the item itself and share its subject."""
        related = kb.related(34, k=3)
        assert len(related) == 3 and 34 not in related
        assert {35, 36} & set(related)

    def test_lookups(self, kb: KnowledgeBase) -> None:
        """English titles, summaries and area labels come from the enrichment."""
        assert kb.en_title(12)
        assert kb.en_summary(12)
        assert kb.area_title(1, "zh") == "党中央决策部署在基层落实情况方面"
        assert kb.area_short(1, "en")
        assert len(kb.items) == 52 and kb.item(52).number == 52

    def test_notice_without_enrichment(self) -> None:
        """A newer notice with an extra last item parses; the new item matches in Chinese."""
        base = KnowledgeBase.load_default().notice.text
        last = next(line for line in base.split("\n") if line.startswith("52.关于"))
        extra = "53.关于“园区路灯不亮”的整改情况。已完成园区主干道路灯维修。"
        kb = KnowledgeBase.from_text(base.replace(last, last + "\n" + extra), source="new.txt")
        assert kb.notice.item_count == 53
        assert kb.ask("园区路灯不亮修了没").items[:1] == (53,)
        assert kb.en_title(53) == "园区路灯不亮"  # no English yet: the Chinese title stands in
        assert kb.ask("sewage plant phase three").items[:1] == (12,)

    def test_enrichment_for_missing_items_is_ignored(self) -> None:
        """A shorter notice ignores enrichment entries for items it does not have."""
        base = KnowledgeBase.load_default().notice.text
        lines = base.split("\n")
        cut = [line for line in lines if not line.startswith("52.关于")]
        kb = KnowledgeBase.from_text("\n".join(cut), source="short.txt")
        assert kb.notice.item_count == 51
        assert 52 not in kb.enrichment.items
        assert all(n != 52 for n in kb.search("意识形态"))


class TestEvaluationTable:
    def test_one_column_per_set(self, kb: KnowledgeBase) -> None:
        """The README's table: a column per set, a dash where a set has no such questions."""
        entries = [
            {"q": "污水处理厂", "expect": "item", "items": [12], "lang": "zh"},
            {"q": "成都污水处理厂", "expect": "none", "items": [], "lang": "zh"},
        ]
        text = table({"a": evaluate(entries, kb.ask), "b": evaluate(entries[:1], kb.ask)})
        lines = text.splitlines()
        assert lines[0] == "| | a | b |"
        assert "| item, Chinese (≥97%) | 100.0% | 100.0% |" in lines
        assert "| out of scope → none (≥95%) | 100.0% | – |" in lines
        assert lines[-1] == "| questions | 2 | 1 |"


class TestPatternSpeed:
    def test_chinese_intent_patterns_start_with_a_plain_character(self, kb: KnowledgeBase) -> None:
        """re scans a pattern by its possible first characters only when every alternative
        starts with a plain one: a single 能?拿多少 or (?<!到)在哪 made every Chinese question's
        search several times slower. Anchored alternatives (^你好) are exempt."""
        import re

        from knowledge.matcher import _flat_alternatives

        first = re.compile(r"[^\\()\[\]{}.*+?|^$](?![?*{])")
        intents = kb.matcher._scripts["zh"].intents
        patterns = {"out_of_scope": intents.out_of_scope, "filler": intents.filler,
                    "greeting": intents.greeting}
        for group in ("contact", "meta", "cues"):
            patterns.update({f"{group}.{k}": p for k, p in getattr(intents, group).items()})
        patterns.update({f"details.{k}": ask for k, (ask, _) in intents.details.items()})
        slow = [
            f"{name}: {alternative}"
            for name, pattern in patterns.items()
            for head, alternative, _ in _flat_alternatives(pattern.pattern)
            if not head and not first.match(alternative) and alternative != "(?!x)x"
        ]
        assert not slow, slow


class TestDeterminism:
    def test_same_answers_whatever_the_hash_seed(self) -> None:
        """Every process answers alike: no decision depends on set or dict order, which
        Python varies between processes (PYTHONHASHSEED)."""
        import os
        import subprocess
        import sys

        sets = [DEVSET, DEVSET2, *(DATA / f"devset{n}.yaml" for n in range(3, 10))]
        questions = [e["q"] for path in sets if path.exists() for e in load(path)]
        stdin = "\n".join(q.replace("\n", " ") for q in questions) + "\n"
        outputs = []
        for seed in ("1", "2"):
            env = {**os.environ, "PYTHONHASHSEED": seed}
            done = subprocess.run(
                [sys.executable, "-m", "knowledge", "ask", "--json"], input=stdin, env=env,
                capture_output=True, text=True, timeout=120, check=True,
            )
            outputs.append(done.stdout.splitlines())
        assert len(outputs[0]) == len(questions)
        assert outputs[0] == outputs[1]
