"""Column specifications of the three upload tables: devices, violations, verifications.

One place defines every column a department fills in: its Chinese header, its English alias, its kind,
whether it is required, the codes it accepts, and the help text and example printed on the template's
填表说明 sheet. The template writer, the importer and the registry listing all read these specs.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

DEVICE_TYPES = ("固定测速", "移动测速", "区间测速", "闯红灯", "违法停车", "超限超载", "尾气遥感", "城市管理", "其他")
DEVICE_TYPES_EN = {
    "固定测速": "fixed speed",
    "移动测速": "mobile speed",
    "区间测速": "average speed",
    "闯红灯": "red light",
    "违法停车": "illegal parking",
    "超限超载": "overload weigh-in-motion",
    "尾气遥感": "emission remote sensing",
    "城市管理": "urban management",
    "其他": "other",
}
STATUSES = ("拟建", "在用", "停用", "拆除")
VERIFICATION_RESULTS = ("合格", "不合格")
CRS_CHOICES = ("WGS84", "CGCS2000", "GCJ02", "BD09")
YES_NO = ("是", "否")
# The most characters an Excel cell holds: free text longer than this could not be exported.
TEXT_MAX_LENGTH = 32767
# The largest magnitudes the database columns hold: INTEGER (PostgreSQL's 4 bytes) and NUMERIC(14, 2).
INT_MAX = 2**31 - 1
MONEY_MAX = 999_999_999_999.99
# The dates the template's cells accept, and the days an audit may be run as of: 1990-01-01 .. 2099-12-31.
DATE_MIN, DATE_MAX = dt.date(1990, 1, 1), dt.date(2099, 12, 31)


@dataclass(frozen=True)
class Column:
    """One column of an upload table.

    kind is one of: text, code (a required identifier), choice, date, month_or_date, bool, float, int, money.
    max_length is the most characters a text or code cell may have: the size of the column it is stored in
    (tests/audit/intake/test_hygiene.py holds it to audit.registry.models), TEXT_MAX_LENGTH for free text.
    max_value is the largest magnitude a number cell may have: what the column it is stored in holds (the same
    test holds it to the models); None for floating-point columns, which hold any finite number.
    multiline: tabs and line breaks are kept (other columns turn them into spaces).
    """

    key: str
    header: str
    kind: str
    required: bool = False
    choices: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    help: str = ""
    example: str = ""
    max_length: int | None = None
    max_value: float | None = None
    multiline: bool = False

    @property
    def label(self) -> str:
        return self.header + ("*" if self.required else "")


@dataclass(frozen=True)
class TableSpec:
    kind: str
    title: str
    title_en: str
    columns: tuple[Column, ...]
    key_columns: tuple[str, ...] = field(default=())

    def column(self, key: str) -> Column:
        for col in self.columns:
            if col.key == key:
                return col
        raise KeyError(key)

    @property
    def keys(self) -> list[str]:
        return [c.key for c in self.columns]


DEVICE_COLUMNS = (
    Column("device_code", "设备编号", "code", True, help="本单位设备的唯一编号，同一文件内不得重复。", example="JL-SC-0001", max_length=100),
    Column("name", "设备名称", "text", help="便于识别的设备名称。", example="水南大道固定测速点", max_length=TEXT_MAX_LENGTH),
    Column("device_type", "设备类型", "choice", True, DEVICE_TYPES, help="从下拉列表中选择。", example="固定测速"),
    Column("violation_kinds", "抓拍违法行为", "text", help="该设备抓拍的违法行为，多项用顿号分隔。", example="超速行驶",
           max_length=TEXT_MAX_LENGTH, multiline=True),
    Column("department", "所属单位", "text", help="设备的使用单位；为空时取导入时指定的单位。", example="将乐县公安局交警大队", max_length=200),
    Column("road", "道路名称", "text", help="设备所在道路的名称。", example="水南大道", max_length=TEXT_MAX_LENGTH),
    Column("direction", "方向", "text", help="抓拍方向，如 由东向西、双向。", example="由东向西", max_length=100),
    Column("address", "设置地点", "text", help="设备的具体设置地点，将用于社会公布。", example="水南大道与三华路交叉口东50米",
           max_length=TEXT_MAX_LENGTH, multiline=True),
    Column("lon", "经度", "float", True, aliases=("longitude", "x", "东坐标"),
           help="十进制度（如 117.47312）；高斯-克吕格投影坐标填东坐标（米），并在坐标系列写明带号。", example="117.47312"),
    Column("lat", "纬度", "float", True, aliases=("latitude", "y", "北坐标"),
           help="十进制度（如 26.72851）；高斯-克吕格投影坐标填北坐标（米）。", example="26.72851"),
    Column("crs", "坐标系", "choice", choices=CRS_CHOICES,
           help="WGS84（GPS、天地图）、CGCS2000、GCJ02（高德、腾讯）、BD09（百度）；投影坐标填 CGCS2000-3度带-39 或 EPSG:4527。为空时取导入时指定的坐标系。",
           example="CGCS2000"),
    Column("installed_on", "安装日期", "date", help="日期，如 2024-03-05。", example="2023-05-10"),
    Column("in_service_on", "启用日期", "date", help="设备正式投入使用（开始用于处罚）的日期。", example="2023-07-01"),
    Column("status", "状态", "choice", choices=STATUSES, help="拟建、在用、停用、拆除。", example="在用"),
    Column("legal_review_on", "法制审核日期", "date", help="法制审核（《行政处罚法》第四十一条）完成日期。", example="2023-06-01"),
    Column("legal_review_no", "法制审核文号", "text", help="法制审核意见书的文号。", example="将公法审〔2023〕12号", max_length=200),
    Column("tech_review_on", "技术审核日期", "date", help="技术审核完成日期。", example="2023-06-10"),
    Column("tech_review_no", "技术审核文号", "text", help="技术审核意见（报告）的文号。", example="将公技审〔2023〕5号", max_length=200),
    Column("signage", "标识设置", "bool", choices=YES_NO, help="设置地点是否有明显可见的标识：是/否。", example="是"),
    Column("sign_distance_m", "标识距离米", "float", help="测速警告标志距设备的距离，单位米。", example="300"),
    Column("published_on", "社会公布日期", "date", help="设置地点向社会公布的日期。", example="2023-06-20"),
    Column("publication_channel", "公布渠道", "text", help="公布的媒体或平台。", example="县政府门户网站", max_length=TEXT_MAX_LENGTH),
    Column("speed_limit_kmh", "限速值", "int", help="测速设备所在路段的限速，单位 km/h。", example="60",
           max_value=INT_MAX),
    Column("justification", "设置依据", "text", help="设置的必要性：事故多发、群众投诉等监管需要。", example="2022年该路段发生超速事故7起",
           max_length=TEXT_MAX_LENGTH, multiline=True),
    Column("verified_on", "最近检定日期", "date", help="最近一次计量检定的日期。", example="2024-05-20"),
    Column("verification_valid_until", "检定有效期至", "date", help="检定证书上的有效期截止日期。", example="2025-05-19"),
    Column("verification_result", "检定结果", "choice", choices=VERIFICATION_RESULTS, help="合格或不合格。", example="合格"),
    Column("certificate_no", "检定证书编号", "text", help="检定证书编号。", example="JD2024-0518", max_length=200),
)

VIOLATION_COLUMNS = (
    Column("device_code", "设备编号", "code", True, help="须为已登记设备的编号。", example="JL-SC-0001", max_length=100),
    Column("date", "日期", "month_or_date", True, aliases=("day", "month", "violation_date"),
           help="按日填写日期（2024-03-05），或按月填写月份（2024-03）。", example="2024-03-05"),
    Column("count", "违法数量", "int", True, aliases=("violations",), help="当日（当月）采集的违法行为数量。", example="12",
           max_value=INT_MAX),
    Column("fine_yuan", "罚款金额", "money", aliases=("罚款金额(元)", "罚款金额元", "fine"),
           help="对应的罚款金额，单位元，保留两位小数。", example="2400.00", max_value=MONEY_MAX),
)

VERIFICATION_COLUMNS = (
    Column("device_code", "设备编号", "code", True, help="须为已登记设备的编号。", example="JL-SC-0001", max_length=100),
    Column("verified_on", "检定日期", "date", True, help="检定日期。", example="2024-05-20"),
    Column("valid_until", "有效期至", "date", True, aliases=("verification_valid_until",),
           help="检定证书有效期截止日期，不得早于检定日期。", example="2025-05-19"),
    Column("result", "检定结果", "choice", True, VERIFICATION_RESULTS, aliases=("verification_result",),
           help="合格或不合格。", example="合格"),
    Column("certificate_no", "证书编号", "text", help="检定证书编号。", example="JD2024-0518", max_length=200),
    Column("agency", "检定机构", "text", help="出具证书的计量检定机构。", example="三明市计量所", max_length=200),
)

TABLES: dict[str, TableSpec] = {
    "devices": TableSpec("devices", "非现场执法设备登记表", "Device inventory", DEVICE_COLUMNS, ("device_code",)),
    "violations": TableSpec("violations", "非现场执法设备违法采集量统计表", "Violations per device",
                            VIOLATION_COLUMNS, ("device_code", "date")),
    "verifications": TableSpec("verifications", "非现场执法设备计量检定记录表", "Verification records",
                               VERIFICATION_COLUMNS, ("device_code", "verified_on")),
}
