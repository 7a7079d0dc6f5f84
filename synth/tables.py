"""Small lookup tables the synthetic city is drawn from: districts, origin counties, names, place words.

Everything here is plain data, so the generator's numbers can be checked against their sources in one
place. Shares are approximate; they make the city look like Wuhan, not reproduce it.
"""

from __future__ import annotations

from typing import NamedTuple


class District(NamedTuple):
    """A real Wuhan district (domain.md §1) with its population share and a built-up centre."""

    county_code: str  # GB/T 2260
    name: str
    share: float  # approximate, 7th census 2020 (functional zones such as 东湖高新区 folded into hosts)
    lat: float
    lon: float
    spread: float  # standard deviation of street centres around the district centre, degrees


# Centres of the built-up area of each district, kept inside the box the brief uses for Wuhan
# (30.35–30.85 N, 113.95–114.55 E); outer districts are placed at their parts nearest the city.
DISTRICTS: tuple[District, ...] = (
    District("420102", "江岸区", 0.085, 30.615, 114.305, 0.018),
    District("420103", "江汉区", 0.060, 30.598, 114.265, 0.012),
    District("420104", "硚口区", 0.060, 30.582, 114.225, 0.014),
    District("420105", "汉阳区", 0.075, 30.548, 114.218, 0.020),
    District("420106", "武昌区", 0.115, 30.553, 114.316, 0.018),
    District("420107", "青山区", 0.045, 30.630, 114.385, 0.015),
    District("420111", "洪山区", 0.130, 30.505, 114.370, 0.035),
    District("420112", "东西湖区", 0.085, 30.640, 114.135, 0.030),
    District("420113", "汉南区", 0.010, 30.385, 114.095, 0.015),
    District("420114", "蔡甸区", 0.060, 30.575, 114.040, 0.030),
    District("420115", "江夏区", 0.100, 30.420, 114.325, 0.035),
    District("420116", "黄陂区", 0.100, 30.770, 114.320, 0.035),
    District("420117", "新洲区", 0.075, 30.720, 114.500, 0.030),
)

CITY_CODE = "420100000000"
CITY_NAME = "武汉市"
LAT_RANGE = (30.35, 30.85)
LON_RANGE = (113.95, 114.55)

# Real county codes (GB/T 2260) migrants' identity numbers come from, with rough weights: most migrants
# to Wuhan come from elsewhere in Hubei, then the neighbouring provinces, then the big cities.
ORIGIN_COUNTIES: tuple[tuple[str, float], ...] = (
    ("421002", 6.0),  # 荆州 沙市区
    ("421003", 4.0),  # 荆州 荆州区
    ("420502", 4.0),  # 宜昌 西陵区
    ("420602", 3.0),  # 襄阳 襄城区
    ("420606", 3.0),  # 襄阳 樊城区
    ("420202", 3.0),  # 黄石 黄石港区
    ("420704", 3.0),  # 鄂州 鄂城区
    ("420802", 3.0),  # 荆门 东宝区
    ("420902", 6.0),  # 孝感 孝南区
    ("421102", 6.0),  # 黄冈 黄州区
    ("421202", 4.0),  # 咸宁 咸安区
    ("422801", 3.0),  # 恩施 恩施市
    ("429004", 3.0),  # 仙桃市
    ("429005", 2.0),  # 潜江市
    ("429006", 2.0),  # 天门市
    ("430102", 2.0),  # 长沙 芙蓉区
    ("430104", 2.0),  # 长沙 岳麓区
    ("410105", 2.0),  # 郑州 金水区
    ("411502", 3.0),  # 信阳 浉河区
    ("360102", 2.0),  # 南昌 东湖区
    ("340102", 1.0),  # 合肥 瑶海区
    ("340104", 1.0),  # 合肥 蜀山区
    ("500103", 2.0),  # 重庆 渝中区
    ("510104", 1.5),  # 成都 锦江区
    ("110105", 1.0),  # 北京 朝阳区
    ("310104", 1.0),  # 上海 徐汇区
    ("440106", 1.0),  # 广州 天河区
    ("440305", 1.0),  # 深圳 南山区
    ("320102", 0.5),  # 南京 玄武区
    ("330106", 0.5),  # 杭州 西湖区
    ("610113", 0.5),  # 西安 雁塔区
    ("370102", 0.5),  # 济南 历下区
)

# The ~100 most common surnames with their approximate share of the population, in per mille
# (Ministry of Public Security name report 2020 for the top of the list; the tail is smoothed).
SURNAMES: tuple[tuple[str, float], ...] = (
    ("王", 71.5),
    ("李", 70.0),
    ("张", 65.0),
    ("刘", 53.0),
    ("陈", 46.0),
    ("杨", 31.0),
    ("黄", 24.0),
    ("赵", 23.0),
    ("吴", 20.0),
    ("周", 19.0),
    ("徐", 15.0),
    ("孙", 15.0),
    ("马", 14.0),
    ("朱", 13.0),
    ("胡", 13.0),
    ("郭", 12.0),
    ("何", 12.0),
    ("林", 11.0),
    ("高", 11.0),
    ("罗", 11.0),
    ("郑", 10.5),
    ("梁", 10.0),
    ("谢", 8.5),
    ("宋", 8.0),
    ("唐", 7.8),
    ("许", 7.5),
    ("韩", 7.2),
    ("邓", 7.0),
    ("冯", 7.0),
    ("曹", 6.8),
    ("彭", 6.7),
    ("曾", 6.4),
    ("肖", 6.2),
    ("田", 6.0),
    ("董", 6.0),
    ("潘", 5.6),
    ("袁", 5.6),
    ("蔡", 5.4),
    ("蒋", 5.4),
    ("余", 5.2),
    ("于", 5.1),
    ("杜", 5.0),
    ("叶", 4.9),
    ("程", 4.8),
    ("魏", 4.7),
    ("苏", 4.6),
    ("吕", 4.5),
    ("丁", 4.4),
    ("任", 4.3),
    ("卢", 4.2),
    ("姚", 4.1),
    ("沈", 4.0),
    ("钟", 3.9),
    ("姜", 3.9),
    ("崔", 3.8),
    ("谭", 3.7),
    ("陆", 3.6),
    ("范", 3.5),
    ("汪", 3.5),
    ("廖", 3.4),
    ("石", 3.4),
    ("金", 3.3),
    ("韦", 3.2),
    ("贾", 3.2),
    ("夏", 3.1),
    ("付", 3.0),
    ("方", 3.0),
    ("邹", 2.9),
    ("熊", 2.9),
    ("白", 2.8),
    ("孟", 2.8),
    ("秦", 2.7),
    ("邱", 2.7),
    ("侯", 2.6),
    ("江", 2.6),
    ("尹", 2.5),
    ("薛", 2.5),
    ("闫", 2.4),
    ("段", 2.4),
    ("雷", 2.3),
    ("龙", 2.3),
    ("黎", 2.2),
    ("史", 2.2),
    ("陶", 2.1),
    ("贺", 2.1),
    ("毛", 2.0),
    ("郝", 2.0),
    ("顾", 1.9),
    ("龚", 1.9),
    ("邵", 1.8),
    ("万", 1.8),
    ("覃", 1.7),
    ("武", 1.7),
    ("钱", 1.6),
    ("戴", 1.6),
    ("严", 1.5),
    ("莫", 1.5),
    ("孔", 1.4),
    ("向", 1.4),
    ("常", 1.3),
    ("汤", 1.3),
    ("涂", 1.2),
    ("喻", 1.1),
    ("柯", 1.0),
)

# Given-name characters. Two eras, because Chinese naming fashions changed: people born from 2000 on
# carry the 子轩/梓涵 generation of names.
GIVEN_MALE_OLDER = (
    "伟",
    "强",
    "磊",
    "军",
    "勇",
    "杰",
    "涛",
    "斌",
    "超",
    "明",
    "刚",
    "平",
    "辉",
    "鹏",
    "华",
    "飞",
    "波",
    "建",
    "国",
    "峰",
    "成",
    "东",
    "文",
    "志",
    "林",
    "俊",
    "兵",
    "海",
    "亮",
    "勤",
    "红",
    "春",
    "永",
    "庆",
    "德",
    "福",
    "生",
    "荣",
    "祥",
    "宏",
    "忠",
    "新",
    "洪",
    "光",
    "武",
    "金",
    "保",
    "卫",
)
GIVEN_FEMALE_OLDER = (
    "芳",
    "娜",
    "敏",
    "静",
    "丽",
    "艳",
    "娟",
    "霞",
    "燕",
    "玲",
    "婷",
    "雪",
    "慧",
    "红",
    "梅",
    "琳",
    "倩",
    "颖",
    "洁",
    "丹",
    "萍",
    "晶",
    "英",
    "华",
    "秀",
    "兰",
    "凤",
    "珍",
    "莉",
    "琴",
    "云",
    "桂",
    "春",
    "玉",
    "芬",
    "淑",
    "翠",
    "琼",
    "虹",
    "晓",
    "蓉",
    "莹",
    "佳",
    "君",
    "美",
    "艾",
    "青",
    "露",
)
# The first YOUNG_LEAD characters of the young sets only open a two-character name (子轩, 一诺);
# the rest may also close one or stand alone.
GIVEN_MALE_YOUNG = (
    "子",
    "浩",
    "睿",
    "俊",
    "皓",
    "一",
    "逸",
    "锦",
    "嘉",
    "天",
    "昊",
    "博",
    "轩",
    "宇",
    "泽",
    "航",
    "文",
    "然",
    "铭",
    "辰",
    "晨",
    "阳",
    "杰",
    "宸",
    "煜",
    "程",
    "凯",
    "鑫",
    "豪",
    "乐",
    "翔",
    "毅",
)
GIVEN_FEMALE_YOUNG = (
    "梓",
    "欣",
    "可",
    "雨",
    "诗",
    "佳",
    "思",
    "语",
    "若",
    "一",
    "紫",
    "子",
    "涵",
    "怡",
    "馨",
    "萱",
    "琪",
    "悦",
    "彤",
    "诺",
    "瑶",
    "婉",
    "晴",
    "依",
    "心",
    "安",
    "妍",
    "茜",
    "沐",
    "希",
    "月",
    "清",
)
YOUNG_LEAD = 12
YOUNG_NAME_FROM_YEAR = 2000

# Characters plausible in Wuhan place names (streets, communities, compounds, roads).
PLACE_CHARS = (
    "东",
    "西",
    "南",
    "北",
    "中",
    "新",
    "华",
    "民",
    "和",
    "平",
    "安",
    "康",
    "宁",
    "福",
    "兴",
    "盛",
    "荣",
    "昌",
    "隆",
    "江",
    "汉",
    "湖",
    "山",
    "水",
    "阳",
    "春",
    "花",
    "桥",
    "港",
    "湾",
    "岸",
    "洲",
    "城",
    "台",
    "坪",
    "岭",
    "泉",
    "塘",
    "月",
    "光",
    "明",
    "星",
    "锦",
    "文",
    "武",
    "德",
    "仁",
    "永",
    "长",
    "丰",
    "乐",
    "怡",
    "景",
    "翠",
    "紫",
    "金",
    "玉",
    "龙",
    "凤",
    "鹤",
    "松",
    "竹",
    "梅",
    "兰",
    "桂",
    "柳",
    "枫",
    "樟",
    "黄",
    "鹦",
    "晴",
    "珞",
    "洪",
    "关",
    "徐",
    "沙",
    "青",
    "堤",
    "岗",
    "林",
)
ROAD_SUFFIXES = ("路", "路", "路", "街", "大道", "巷")
COMPOUND_SUFFIXES = ("小区", "小区", "小区", "花园", "苑", "家园", "新村", "公寓", "雅居")
GATE_SUFFIXES = ("大门", "东门", "南门", "西门", "北门")

# Venue kinds (contracts.md `venues`) with their share among non-gate venues, name suffixes and a few
# explicit dwell times a venue might declare instead of the default for its kind.
VENUE_KINDS: tuple[tuple[str, float, tuple[str, ...], tuple[int, ...]], ...] = (
    ("market", 0.05, ("菜市场", "农贸市场", "生鲜市场"), (45, 90)),
    ("supermarket", 0.09, ("中百超市", "中百仓储", "武商超市", "便利店", "生活超市"), (20, 45)),
    ("restaurant", 0.29, ("热干面馆", "餐馆", "酒楼", "小吃店", "快餐店", "火锅店"), (45, 90)),
    ("hospital", 0.02, ("社区卫生服务中心", "医院", "诊所"), (60, 180)),
    ("pharmacy", 0.06, ("大药房", "药店"), (5, 15)),
    ("school", 0.05, ("小学", "中学", "幼儿园"), (420, 540)),
    ("workplace", 0.20, ("商贸公司", "科技公司", "工厂", "办公楼", "物流园"), (540, 600)),
    ("transit", 0.05, ("地铁站", "公交站", "公交总站"), (15, 45)),
    ("other", 0.19, ("理发店", "棋牌室", "银行网点", "快递点", "健身房", "网吧"), (20, 60)),
)
GATE_KIND = "gate"

RESIDENTS_PER_VENUE = 130  # Shanghai: 188,000 venue codes for ~25 million people (domain.md §10)
