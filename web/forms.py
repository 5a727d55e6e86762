"""The console's forms (Flask-WTF: every one carries a CSRF token), with Chinese labels and messages."""
from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (BooleanField, DateField, DecimalField, FieldList, Form, FormField, HiddenField, IntegerField,
                     PasswordField, SelectField, SelectMultipleField, StringField, TextAreaField, widgets)
from wtforms.i18n import get_translations
from wtforms.validators import (AnyOf, InputRequired, Length, NumberRange, Optional, Regexp, StopValidation,
                                ValidationError)

REQUIRED = "必填"


class ConsoleForm(FlaskForm):
    """WTForms' own messages (a date that is not a date, a number that is not a number) in Chinese."""

    class Meta:
        locales = ("zh",)

        def get_translations(self, form):
            return get_translations(self.locales)


class SignInForm(ConsoleForm):
    username = StringField("用户名", validators=[InputRequired(REQUIRED), Length(max=64, message="最多 64 个字符")])
    password = PasswordField("密码", validators=[InputRequired(REQUIRED), Length(max=256, message="太长")])
    next = HiddenField()


class PasswordForm(ConsoleForm):
    current = PasswordField("当前密码", validators=[InputRequired(REQUIRED)])
    new = PasswordField("新密码", validators=[InputRequired(REQUIRED)])
    repeat = PasswordField("再次输入新密码", validators=[InputRequired(REQUIRED)])

    def validate_repeat(self, field):
        if field.data != self.new.data:
            raise ValidationError("两次输入的新密码不一致")


class ActionForm(ConsoleForm):
    """A button that changes state (publish, sign out): only the CSRF token."""


class Chosen:
    """At least one box ticked. Unlike InputRequired it sets no ``required`` flag, which on a group of
    checkboxes would ask a browser to tick every one of them."""

    def __init__(self, message: str):
        self.message = message

    def __call__(self, form, field):
        if not field.data:
            raise StopValidation(self.message)


class CheckboxesField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()

    def pre_validate(self, form):
        allowed = {value for value, _ in self.choices or ()}
        if any(value not in allowed for value in self.data or ()):
            raise ValidationError("包含不可选择的项（不存在或不在您负责的范围内）")


class CampaignForm(ConsoleForm):
    title = StringField("标题", validators=[InputRequired(REQUIRED), Length(max=64, message="最多 64 个字")])
    cover_text = StringField("封面文字（一句话介绍）", validators=[Optional(), Length(max=256, message="最多 256 个字")])
    description = TextAreaField("简介", validators=[Optional(), Length(max=4000, message="最多 4000 个字")])
    community_ids = CheckboxesField("社区", coerce=int, validators=[Chosen("请至少选择一个社区")])
    active_from = DateField("开始日期", validators=[InputRequired("请选择开始日期")],
                            render_kw={"placeholder": "2026-06-01"})
    active_until = DateField("结束日期（含当天）", validators=[InputRequired("请选择结束日期")])
    show_days_before = IntegerField("提前几天向居民展示", default=3,
                                    validators=[Optional(), NumberRange(0, 30, "须为 0 到 30 之间的整数")])
    action_types = CheckboxesField("计入本活动的行为", validators=[Optional()])
    multiplier = DecimalField("这些行为的积分倍数（不加倍留空）", places=None,
                              validators=[Optional(), NumberRange(1, 10, "须在 1 到 10 之间")])
    first_action_bonus = IntegerField("首次参与奖励积分", default=0,
                                      validators=[Optional(), NumberRange(0, 1000, "须为 0 到 1000 之间的整数")])
    checkin_points = IntegerField("每次签到积分", default=0,
                                  validators=[Optional(), NumberRange(0, 500, "须为 0 到 500 之间的整数")])
    checkin_daily_limit = IntegerField("每人每天可签到次数", default=1,
                                       validators=[Optional(), NumberRange(1, 10, "须为 1 到 10 之间的整数")])
    checkin_total_limit = IntegerField("每人总签到次数上限（不限留空）",
                                       validators=[Optional(), NumberRange(1, 1000, "须为 1 到 1000 之间的整数")])
    checkin_qr = BooleanField("生成签到二维码（居民扫码签到）")


class CampaignTextForm(ConsoleForm):
    """After publishing only the wording may change."""
    title = CampaignForm.title
    cover_text = CampaignForm.cover_text
    description = CampaignForm.description


class CheckinForm(ConsoleForm):
    name = StringField("居民姓名", validators=[Optional(), Length(max=64, message="最多 64 个字")])
    phone_tail = StringField("手机号后四位", validators=[Optional(), Regexp(r"^\d{4}$", message="请填写 4 位数字")],
                             render_kw={"inputmode": "numeric", "maxlength": 4, "autocomplete": "off"})
    card_no = StringField("或：居民卡号", validators=[Optional(), Length(max=32, message="最多 32 个字符")],
                          render_kw={"autocomplete": "off"})
    resident_id = HiddenField()

    def validate(self, extra_validators=None):
        return super().validate(extra_validators) and resident_named(self)


def resident_named(form) -> bool:
    """Exactly one way of naming the resident: a chosen match, name and phone tail together, or a card."""
    by_name = bool((form.name.data or "").strip() or form.phone_tail.data)
    if form.resident_id.data:
        return True
    if by_name and form.card_no.data:
        form.card_no.errors.append("请只用一种方式查找：姓名加手机尾号，或卡号")
        return False
    if not by_name and not form.card_no.data:
        form.name.errors.append("请填写姓名和手机号后四位，或填写居民卡号")
        return False
    if by_name and not ((form.name.data or "").strip() and form.phone_tail.data):
        target = form.phone_tail if not form.phone_tail.data else form.name
        target.errors.append("姓名和手机号后四位都要填写")
        return False
    return True


DECISIONS = {"approve": "通过", "reject": "驳回"}


class ReviewForm(ConsoleForm):
    decision = StringField("决定", default="approve", validators=[AnyOf(DECISIONS, message="请选择通过或驳回")])
    note = TextAreaField("理由（驳回时必填）", validators=[Optional(), Length(max=500, message="最多 500 个字")])

    def validate(self, extra_validators=None):
        if not super().validate(extra_validators):
            return False
        if self.decision.data == "reject" and not (self.note.data or "").strip():
            self.note.errors = list(self.note.errors) + ["驳回时请写明理由"]
            return False
        return True


class DashboardFilter(ConsoleForm):
    class Meta(ConsoleForm.Meta):
        csrf = False  # a GET filter changes nothing

    street = SelectField("街道", coerce=str, validators=[Optional()])
    community = SelectField("社区", coerce=str, validators=[Optional()])
    month = StringField("月份", validators=[Optional(), Regexp(r"^\d{4}-(0[1-9]|1[0-2])$", message="格式如 2026-06")],
                        render_kw={"type": "month"})


class RewardForm(ConsoleForm):
    kind = StringField("类型", default="goods", validators=[AnyOf(("coupon", "transit_credit", "goods", "donation"),
                                                                 message="请从列表中选择")])
    title = StringField("名称", validators=[InputRequired(REQUIRED), Length(max=96, message="最多 96 个字")])
    description = TextAreaField("说明", validators=[Optional(), Length(max=2000, message="最多 2000 个字")])
    points_cost = IntegerField("所需积分", validators=[InputRequired(REQUIRED), NumberRange(1, None, "须为大于 0 的整数")])
    stock = IntegerField("库存", validators=[InputRequired(REQUIRED), NumberRange(0, None, "须为 0 或以上的整数")])
    per_resident_limit = IntegerField("每人限兑次数（不限留空）",
                                      validators=[Optional(), NumberRange(1, None, "至少为 1，不限请留空")])
    visible_from = DateField("上架日期", validators=[InputRequired("请选择上架日期")])
    visible_until = DateField("下架日期（含当天）", validators=[InputRequired("请选择下架日期")])
    community_ids = CheckboxesField("提供给哪些社区（管理员不选表示全市）", coerce=int, validators=[Optional()])
    active = BooleanField("上架（居民可兑换）", default=True)

    def validate(self, extra_validators=None):
        if not super().validate(extra_validators):
            return False
        if self.visible_until.data < self.visible_from.data:
            self.visible_until.errors = list(self.visible_until.errors) + ["下架日期不能早于上架日期"]
            return False
        return True


class VoucherForm(ConsoleForm):
    code = StringField("券码", validators=[InputRequired("请输入或扫描券码"), Length(max=32, message="券码太长")],
                       render_kw={"autocomplete": "off", "autofocus": True, "autocapitalize": "characters",
                                  "placeholder": "例如 ABCD-EFGH-JKMN"})


class WeighInForm(ConsoleForm):
    station = StringField("站点", validators=[InputRequired("请选择站点")])
    name = CheckinForm.name
    phone_tail = CheckinForm.phone_tail
    card_no = CheckinForm.card_no
    resident_id = StringField("符合的居民", validators=[Optional()])
    category = StringField("投放类别", validators=[InputRequired("请选择投放类别")])
    weight_kg = DecimalField("重量（千克）", places=None,
                             validators=[InputRequired("请填写重量"), NumberRange(0.01, 500, "须在 0.01 到 500 千克之间")],
                             render_kw={"inputmode": "decimal", "step": "0.01"})
    token = HiddenField()

    def validate(self, extra_validators=None):
        return super().validate(extra_validators) and resident_named(self)


class FactorForm(Form):
    """One emission factor of a rule: its value and the citation for that value."""
    grams_per_unit = DecimalField("每单位减排量（克 CO₂e）", places=None,
                                  validators=[InputRequired("请填写减排量"),
                                              NumberRange(0, None, "须为 0 或以上的数")],
                                  render_kw={"inputmode": "decimal", "step": "any"})
    source = TextAreaField("来源（须与该数值对应）", validators=[InputRequired("每个系数都要注明来源"),
                                                           Length(max=500, message="最多 500 个字")],
                           render_kw={"rows": 2})


class RuleForm(ConsoleForm):
    factors = FieldList(FormField(FactorForm))
    points_per_gram = DecimalField("每克减排折算积分", places=None,
                                   validators=[InputRequired(REQUIRED), NumberRange(0, 1000, "须在 0 到 1000 之间")],
                                   render_kw={"inputmode": "decimal", "step": "any"})
    points_per_unit = DecimalField("每单位积分（仅计积分的行为）", places=None,
                                   validators=[InputRequired(REQUIRED), NumberRange(0, 1000, "须在 0 到 1000 之间")],
                                   render_kw={"inputmode": "decimal", "step": "any"})
    max_quantity = DecimalField("单次最多计入数量（不限留空）", places=None,
                                validators=[Optional(), NumberRange(0, None, "须为大于 0 的数")],
                                render_kw={"inputmode": "decimal", "step": "any"})
    source = TextAreaField("规则说明与来源", validators=[Optional(), Length(max=1000, message="最多 1000 个字")],
                           render_kw={"rows": 3})


class ActivateForm(ConsoleForm):
    effective_on = DateField("生效日期（留空表示立即生效；填写则从该日零点起生效）", validators=[Optional()])


class PreviewFilter(ConsoleForm):
    class Meta(ConsoleForm.Meta):
        csrf = False  # a GET filter changes nothing

    days = IntegerField("按最近多少天的记录试算", default=30,
                        validators=[Optional(), NumberRange(1, 90, "须为 1 到 90 之间的整数")])


class StaffForm(ConsoleForm):
    username = StringField("用户名", validators=[InputRequired(REQUIRED), Length(max=64, message="最多 64 个字符"),
                                              Regexp(r"^[A-Za-z0-9_.-]+$", message="只能用字母、数字和 _ . -")],
                           render_kw={"autocomplete": "off"})
    display_name = StringField("姓名", validators=[Optional(), Length(max=64, message="最多 64 个字")])
    role = SelectField("角色", choices=[("worker", "社区工作者"), ("admin", "管理员")],
                       validators=[AnyOf(("worker", "admin"), message="请从列表中选择")])
    password = PasswordField("初始密码（至少 10 个字符，不能与用户名相同）",
                             validators=[InputRequired(REQUIRED), Length(max=256, message="太长")],
                             render_kw={"autocomplete": "new-password"})
    community_ids = CheckboxesField("负责的社区（社区工作者至少选一个）", coerce=int, validators=[Optional()])


class CommunitiesForm(ConsoleForm):
    community_ids = CheckboxesField("负责的社区", coerce=int, validators=[Chosen("请至少选择一个社区")])


class ReasonForm(ConsoleForm):
    reason = StringField("理由", validators=[InputRequired("请填写理由"), Length(max=200, message="最多 200 个字")])


class PasswordResetForm(ConsoleForm):
    new_password = PasswordField("新密码（至少 10 个字符）", validators=[InputRequired(REQUIRED),
                                                                 Length(max=256, message="太长")],
                                 render_kw={"autocomplete": "new-password"})


class AuditFilter(ConsoleForm):
    class Meta(ConsoleForm.Meta):
        csrf = False  # a GET filter changes nothing

    actor = SelectField("操作人", coerce=str, validators=[Optional()])
    verb = SelectField("操作", coerce=str, validators=[Optional()])
    target_type = StringField("对象类型", validators=[Optional(), Length(max=32, message="最多 32 个字符")])
    target_id = StringField("对象编号", validators=[Optional(), Length(max=64, message="最多 64 个字符")])
    since = DateField("从（含）", validators=[Optional()])
    until = DateField("到（含）", validators=[Optional()])


class BudgetForm(ConsoleForm):
    month = StringField("月份", validators=[InputRequired("请选择月份"),
                                          Regexp(r"^\d{4}-(0[1-9]|1[0-2])$", message="格式如 2026-06")],
                        render_kw={"type": "month"})
    action_type = SelectField("适用行为", coerce=str, validators=[Optional()])
    points_limit = IntegerField("积分额度", validators=[InputRequired(REQUIRED), NumberRange(1, None, "须为大于 0 的整数")])
    mode = SelectField("用完后", choices=[("stop", "停止发放"), ("scale", "按比例折减")],
                       validators=[AnyOf(("stop", "scale"), message="请从列表中选择")])
    scale_factor = DecimalField("折减比例（0 到 1 之间，仅“按比例折减”填写）", places=None,
                                validators=[Optional(), NumberRange(0, 1, "须在 0 到 1 之间")],
                                render_kw={"inputmode": "decimal", "step": "any"})


class BudgetEditForm(ConsoleForm):
    points_limit = BudgetForm.points_limit
    mode = BudgetForm.mode
    scale_factor = BudgetForm.scale_factor


class PartnerForm(ConsoleForm):
    name = StringField("名称", validators=[InputRequired(REQUIRED), Length(max=64, message="最多 64 个字")])
    kind = SelectField("类型", coerce=str, validators=[InputRequired("请选择类型")])
    action_types = CheckboxesField("可推送的行为", validators=[Chosen("请至少选择一种行为")])
    station_ids = CheckboxesField("运营的站点", coerce=int, validators=[Optional()])
    active = BooleanField("启用（停用后该合作方的推送一律拒收）", default=True)


class StationForm(ConsoleForm):
    name = StringField("站点名称", validators=[InputRequired(REQUIRED), Length(max=64, message="最多 64 个字")])
    kind = SelectField("类型", coerce=str, validators=[InputRequired("请选择类型")])
    community_id = SelectField("所在社区", coerce=int, validators=[InputRequired("请选择社区")])
    address = StringField("地址", validators=[Optional(), Length(max=256, message="最多 256 个字")])
    partner_id = SelectField("运营的合作方", coerce=str, validators=[Optional()])
    active = BooleanField("启用", default=True)


class StreetForm(ConsoleForm):
    name = StringField("街道名称", validators=[InputRequired(REQUIRED), Length(max=64, message="最多 64 个字")])
    district = StringField("所属区县", validators=[Optional(), Length(max=64, message="最多 64 个字")])


class CommunityForm(ConsoleForm):
    name = StringField("社区名称", validators=[InputRequired(REQUIRED), Length(max=64, message="最多 64 个字")])
    street_id = SelectField("所属街道", coerce=int, validators=[InputRequired("请选择街道")])


class IngestUploadForm(ConsoleForm):
    file = FileField("乘车记录文件（.csv 或 .jsonl）", validators=[FileRequired("请选择文件")])
