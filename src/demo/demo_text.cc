#include "demo/demo_text.h"

#include <array>
#include <utility>

namespace opspilot::demo {
namespace {

using Slots = std::span<const std::pair<std::string_view, std::string_view>>;

std::vector<CategoryVocab> BuildCategories() {
  const std::vector<const char*> tea_variants = {"Premium", "Classic", "Grade 1", "Organic", "Reserve"};
  const std::vector<const char*> tea_brands = {"Lakeside", "Cloud Peak", "Jade Leaf", "Old Tree",
                                               "Mingqian", "Tea Mountain"};
  const std::vector<const char*> coffee_variants = {"Light Roast", "Medium Roast", "Dark Roast",
                                                    "Single Origin"};
  const std::vector<const char*> coffee_brands = {"Red Cherry", "Morning Ritual", "Bean Lab",
                                                  "Highland Roasters"};
  const std::vector<const char*> gear_variants = {"Classic", "Pro", "Mini", "Deluxe", "Travel"};
  const std::vector<const char*> gear_brands = {"BrewCraft", "Kiln & Co", "Zen Kitchen",
                                                "Bamboo House", "Porcelain Lane"};
  std::vector<CategoryVocab> c;
  c.push_back({"green_tea",
               {{"西湖龙井", "Longjing green tea"},
                {"碧螺春", "Biluochun green tea"},
                {"黄山毛峰", "Huangshan Maofeng"},
                {"信阳毛尖", "Xinyang Maojian"},
                {"六安瓜片", "Lu'an Guapian"},
                {"安吉白茶", "Anji white tea"},
                {"太平猴魁", "Taiping Houkui"},
                {"竹叶青", "Zhuyeqing green tea"}},
               {"50g", "100g", "125g", "250g"},
               {"Pre-Qingming", "Premium", "Classic", "Grade 1", "Organic"},
               {"Zhejiang", "Jiangsu", "Anhui", "Henan", "Sichuan"},
               tea_brands,
               {"Hand-picked in {origin}, this {en} has a fresh, chestnut-like aroma.",
                "Pan-fired in small batches, the {en} brews a bright, jade-green liquor.",
                "Our {en} comes from spring buds, picked early, so the taste is sweet and delicate."},
               40, 600, true, false, 0, 2});
  c.push_back({"black_tea",
               {{"正山小种", "Lapsang Souchong"},
                {"祁门红茶", "Keemun black tea"},
                {"滇红", "Dianhong Yunnan black tea"},
                {"金骏眉", "Jin Jun Mei"},
                {"英德红茶", "Yingde black tea"},
                {"伯爵红茶", "Earl Grey"},
                {"英式早餐茶", "English Breakfast"},
                {"大吉岭红茶", "Darjeeling"}},
               {"50g", "100g", "200g", "20 bags"},
               tea_variants,
               {"Fujian", "Anhui", "Yunnan", "Guangdong", "India", "Sri Lanka"},
               tea_brands,
               {"A malty, honeyed {en} from {origin}, lovely with or without milk.",
                "The {en} is fully oxidised and slow-dried, giving notes of cocoa, dried fruit and pine.",
                "Brew the {en} at 95C for 3 minutes for a smooth, rich cup."},
               30, 400, true, false, 1, 4});
  c.push_back({"oolong",
               {{"铁观音", "Tieguanyin oolong"},
                {"大红袍", "Da Hong Pao"},
                {"凤凰单丛", "Phoenix Dancong"},
                {"冻顶乌龙", "Dong Ding oolong"},
                {"东方美人", "Oriental Beauty"},
                {"武夷肉桂", "Wuyi Rougui"},
                {"水仙", "Shui Xian oolong"}},
               {"50g", "100g", "150g", "250g"},
               tea_variants,
               {"Fujian", "Guangdong", "Taiwan"},
               tea_brands,
               {"This {en} from {origin} is rolled by hand, with an orchid fragrance and a long finish.",
                "Charcoal-roasted {en}, rich, mineral and sweet; it can be steeped eight times or more.",
                "A floral, creamy {en}, perfect for gongfu brewing."},
               50, 800, true, false, 2, 1});
  c.push_back({"pu_erh",
               {{"普洱熟茶饼", "ripe pu-erh cake"},
                {"普洱生茶饼", "raw pu-erh cake"},
                {"小青柑普洱", "citrus pu-erh"},
                {"普洱沱茶", "pu-erh tuocha"},
                {"古树普洱", "ancient tree pu-erh"},
                {"老班章普洱", "Lao Banzhang pu-erh"}},
               {"100g", "200g", "357g", "500g"},
               {"2015 Vintage", "2018 Vintage", "2021 Vintage", "Classic", "Reserve"},
               {"Yunnan"},
               tea_brands,
               {"Pressed in {origin}, this {en} ages gracefully, earthy, woody and smooth.",
                "The {en} is stored in dry warehouses, so the liquor is clean, deep red and sweet.",
                "A great {en} for collectors and daily drinkers alike."},
               60, 2000, true, false, 1, 2});
  c.push_back({"herbal_tea",
               {{"菊花茶", "chrysanthemum tea"},
                {"玫瑰花茶", "rose bud tea"},
                {"大麦茶", "roasted barley tea"},
                {"枸杞红枣茶", "goji and jujube tea"},
                {"薄荷茶", "peppermint tea"},
                {"洋甘菊茶", "chamomile tea"},
                {"桂花茶", "osmanthus tea"},
                {"姜茶", "ginger tea"}},
               {"30g", "60g", "100g", "30 bags"},
               {"Classic", "Organic", "Caffeine-free", "Family Pack"},
               {"Zhejiang", "Shandong", "Ningxia", "Guangxi", "Egypt"},
               tea_brands,
               {"Caffeine-free {en}, gentle and soothing, grown in {origin}.",
                "Our {en} is sun-dried without additives, great hot or iced.",
                "A calming {en} for the evening; add honey if you like it sweeter."},
               15, 150, true, false, 0, 5});
  c.push_back({"coffee_beans",
               {{"云南小粒咖啡豆", "Yunnan Arabica beans"},
                {"耶加雪菲咖啡豆", "Yirgacheffe beans"},
                {"哥伦比亚咖啡豆", "Colombia Supremo beans"},
                {"巴西咖啡豆", "Brazil Santos beans"},
                {"肯尼亚AA咖啡豆", "Kenya AA beans"},
                {"意式拼配咖啡豆", "espresso blend beans"},
                {"曼特宁咖啡豆", "Mandheling beans"}},
               {"250g", "500g", "1kg"},
               coffee_variants,
               {"Yunnan", "Ethiopia", "Colombia", "Brazil", "Kenya", "Indonesia"},
               coffee_brands,
               {"Freshly roasted {en} from {origin}, with notes of citrus, caramel and dark chocolate.",
                "The {en} is roasted to order and shipped within 48 hours, for maximum freshness.",
                "Balanced body, low acidity: our {en} works for espresso, pour-over and French press."},
               40, 300, true, false, 3, 4});
  c.push_back({"ground_coffee",
               {{"挂耳咖啡", "drip bag coffee"},
                {"冻干咖啡粉", "freeze-dried instant coffee"},
                {"冷萃咖啡液", "cold brew concentrate"},
                {"研磨咖啡粉", "ground coffee"},
                {"速溶黑咖啡", "instant black coffee"},
                {"咖啡胶囊", "coffee capsules"}},
               {"10 bags", "20 bags", "30 sticks", "24 capsules", "250g"},
               coffee_variants,
               {"Yunnan", "Brazil", "Colombia", "Vietnam"},
               coffee_brands,
               {"Convenient {en}: just add hot water, ready in one minute.",
                "Our {en} uses specialty beans from {origin}, ground fine and nitrogen-flushed.",
                "Perfect for the office, travel or camping; each {en} serving is individually sealed."},
               25, 150, true, false, 4, 3});
  c.push_back({"teaware",
               {{"宜兴紫砂壶", "Yixing clay teapot"},
                {"汝窑盖碗", "Ru kiln gaiwan"},
                {"玻璃公道杯", "glass fairness pitcher"},
                {"建盏", "Jian zhan tea bowl"},
                {"旅行茶具套装", "travel tea set"},
                {"竹制茶盘", "bamboo tea tray"},
                {"白瓷品茗杯", "porcelain tea cups"}},
               {"150ml", "200ml", "set of 4", "set of 6"},
               gear_variants,
               {"Jiangsu", "Jiangxi", "Fujian", "Henan", "Japan"},
               gear_brands,
               {"Handmade {en} from {origin}, fired at high temperature for a smooth, durable glaze.",
                "This {en} keeps heat well and pours cleanly, without drips.",
                "An elegant {en} that makes every tea session feel special."},
               30, 1200, false, true, 2, 5});
  c.push_back({"coffee_gear",
               {{"手冲壶", "pour-over kettle"},
                {"磨豆机", "burr grinder"},
                {"法压壶", "French press"},
                {"摩卡壶", "moka pot"},
                {"手冲滤杯", "cone dripper"},
                {"意式咖啡机", "espresso machine"},
                {"咖啡电子秤", "coffee scale"}},
               {"600ml", "1L", "standard", "compact"},
               gear_variants,
               {"Guangdong", "Zhejiang", "Japan", "Germany", "Italy"},
               gear_brands,
               {"A precise {en} designed in {origin}, with a gooseneck spout and steady flow.",
                "The {en} is built from stainless steel and food-grade materials, easy to clean.",
                "Whether you are a beginner or a barista, this {en} gives consistent results."},
               50, 2500, false, true, 3, 5});
  c.push_back({"kitchenware",
               {{"珐琅铸铁锅", "enamel cast-iron pot"},
                {"陶瓷刀", "ceramic knife"},
                {"竹蒸笼", "bamboo steamer"},
                {"不粘炒锅", "non-stick wok"},
                {"玻璃保鲜盒", "glass food container set"},
                {"木质砧板", "wooden cutting board"},
                {"保温杯", "insulated tumbler"}},
               {"small", "medium", "large", "set of 3"},
               gear_variants,
               {"Guangdong", "Zhejiang", "Shandong", "Japan", "Germany"},
               gear_brands,
               {"This {en} from {origin} heats evenly and is built to last for years.",
                "Dishwasher-safe {en}, light, sturdy and easy to store.",
                "A kitchen essential: the {en} is made with food-safe, BPA-free materials."},
               25, 800, false, true, 5, 4});
  c.push_back({"gift_sets",
               {{"龙井礼盒", "Longjing gift box"},
                {"中秋茶礼", "Mid-Autumn tea gift set"},
                {"咖啡品鉴礼盒", "coffee tasting gift box"},
                {"茶具礼盒", "tea set gift box"},
                {"新春礼盒", "Spring Festival gift box"},
                {"花草茶礼盒", "herbal tea sampler box"}},
               {"standard", "large", "deluxe box"},
               {"Classic", "Deluxe", "Family", "Corporate"},
               {"Zhejiang", "Fujian", "Yunnan", "Guangdong"},
               tea_brands,
               {"A beautifully wrapped {en}, ready to give, with a handwritten card on request.",
                "The {en} combines our best sellers in a lacquered box; a favourite for holidays.",
                "Corporate orders of the {en} can be customised with your logo."},
               120, 1500, true, false, 5, 2});
  c.push_back({"snacks",
               {{"凤梨酥", "pineapple cakes"},
                {"绿豆糕", "mung bean cakes"},
                {"抹茶曲奇", "matcha cookies"},
                {"每日坚果", "daily mixed nuts"},
                {"芝麻糖", "sesame brittle"},
                {"牛轧糖", "nougat"},
                {"话梅", "dried plums"}},
               {"150g", "250g", "12 pcs", "30 packs"},
               {"Classic", "Low Sugar", "Family Pack"},
               {"Taiwan", "Guangdong", "Zhejiang", "Fujian"},
               {"Snack Hall", "Grandma's Kitchen", "Tea Time"},
               {"Crisp, lightly sweet {en} that pair perfectly with a pot of tea.",
                "Made in {origin} with simple ingredients, no artificial colours.",
                "Individually wrapped {en}, great for sharing at the office."},
               8, 80, true, false, 4, 0});
  return c;
}

const char* const kGenericSentences[] = {
    "Ships in a resealable pouch, great for daily use or gifting.",
    "Satisfaction guaranteed: free returns within 7 days.",
    "Store in a cool, dry place, away from strong smells.",
    "适合日常饮用和送礼。",
    "顺丰包邮，下单后48小时内发货。",
    "官方正品，假一赔十。",
    "Popular with our members, rated highly for freshness, packaging and value.",
    "Limited stock, restocked every month.",
};

constexpr std::array<std::string_view, kNumIntents> kIntentNames = {
    "order_status", "refund",  "shipping_delay", "payment_failed", "product_question", "account",
    "complaint",    "coupon",  "invoice",        "cancel_order",   "change_address",   "praise"};

// [intent] -> templates. Slots: {order} {product} {amount} {date} {email}
// {phone} {coupon} {days}.
const std::vector<std::vector<const char*>>& EnTemplates() {
  static const auto* const kT = new std::vector<std::vector<const char*>>{
      // order_status
      {"Hi, could you tell me where my order {order} is? I placed it on {date} and the tracking page has not updated.",
       "What is the status of order {order}? I ordered the {product} and haven't heard anything since.",
       "Hello, I'd like to check on my order {order}. Has it shipped yet?",
       "Can you give me an update on {order}? The app still says \"processing\".",
       "I bought the {product} on {date}. When will it be sent out?",
       "Order {order} - is there a tracking number yet? My email is {email}.",
       "Just checking whether my package with the {product} is on its way. Order number {order}."},
      // refund
      {"I want a refund for order {order}. The {product} is not what I expected.",
       "Please refund {amount} for {order}, I sent the item back on {date}.",
       "How long does a refund take? I requested one for {order} {days} days ago.",
       "The {product} arrived damaged, I'd like my money back ({amount}).",
       "Can I get a refund for the {product}? I never opened the package.",
       "I was told the refund for {order} was approved but I still haven't received {amount}.",
       "Requesting a full refund for order {order}. You can reach me at {email}."},
      // shipping_delay
      {"My order {order} was supposed to arrive {days} days ago and it's still not here.",
       "The tracking for {order} hasn't moved since {date}. Is the parcel lost?",
       "Why is shipping taking so long? I ordered the {product} on {date}.",
       "Delivery of {order} is now {days} days late.",
       "The courier keeps postponing the delivery of my {product}.",
       "Still waiting for my package. It has been {days} days since you shipped order {order}.",
       "My parcel with the {product} seems stuck in transit, order {order}."},
      // payment_failed
      {"My payment for {order} failed but the money ({amount}) was taken from my account.",
       "I tried to pay {amount} three times and it keeps saying payment failed.",
       "Checkout won't go through, I get an error at the payment step.",
       "Payment error when buying the {product}. Was I charged or not?",
       "The payment page timed out on {date}, and now order {order} shows as failed.",
       "Why was my card declined? It works everywhere else.",
       "Payment failed again while ordering the {product}, please check. My email is {email}."},
      // product_question
      {"Is the {product} suitable for cold brew?",
       "How should I store the {product} after opening?",
       "Does the {product} come in a larger size?",
       "When was the {product} harvested or produced?",
       "Is the {product} still in stock? It shows sold out in my app.",
       "Can the {product} go in the dishwasher?",
       "What's the difference between the {product} and the cheaper version?"},
      // account
      {"I can't log in to my account, the verification code never arrives at {phone}.",
       "Please change the email on my account to {email}.",
       "I forgot my password and the reset link doesn't work.",
       "My account got locked after too many login attempts.",
       "How do I delete my account and my personal data?",
       "I have two accounts, can you merge them? My email is {email}.",
       "Someone else might have logged into my account, I see orders I didn't make."},
      // complaint
      {"The {product} I received tastes stale, definitely not fresh.",
       "Your customer service never replies, I've written {days} times now.",
       "The {product} is much smaller than it looked in the photos.",
       "The packaging was torn and half of the {product} spilled out.",
       "I was charged {amount} but the price on the page was lower.",
       "The courier was rude and left my parcel outside in the rain.",
       "The quality of the {product} has gotten worse compared with my last order {order}."},
      // coupon
      {"My coupon code {coupon} isn't working at checkout.",
       "I was promised a {amount} voucher but it's not in my account.",
       "Can I use two coupons on one order?",
       "The discount from {coupon} was not applied to order {order}.",
       "When does the {coupon} coupon expire?",
       "Why can't I use my coupon on the {product}?",
       "I didn't receive the new-member coupon after signing up."},
      // invoice
      {"Please send me an invoice for order {order} to {email}.",
       "I need a VAT invoice for {amount}, issued to my company.",
       "The invoice for {order} has the wrong address on it.",
       "Can you reissue the receipt for my purchase on {date}?",
       "How do I download the invoice for the {product}?",
       "I need an itemised invoice for order {order} for my expense report.",
       "The invoice amount doesn't match what I paid ({amount})."},
      // cancel_order
      {"Please cancel order {order}, I ordered by mistake.",
       "I'd like to cancel the {product}, it hasn't shipped yet.",
       "Can I still cancel {order}? I placed it on {date}.",
       "Cancel my order please, I found it cheaper elsewhere.",
       "I ordered two of the {product} instead of one, please cancel order {order}.",
       "How do I cancel an order in the app? It's order {order}.",
       "Please stop order {order} before it ships, I won't be home."},
      // change_address
      {"I need to change the shipping address for order {order}.",
       "Wrong address on {order}, please update it. My phone is {phone}.",
       "Can you deliver the {product} to my office instead?",
       "I moved last week, please change the address on my recent order.",
       "Please correct the postcode on order {order}.",
       "Could you update the recipient's name and phone ({phone}) on {order}?",
       "Is it too late to change where order {order} is going?"},
      // praise
      {"The {product} is wonderful, thank you!",
       "Fast delivery and lovely packaging, the {product} was a hit.",
       "Just wanted to say your customer service was super helpful with order {order}.",
       "Best {product} I've had in years.",
       "My parents loved the {product} I sent them as a gift.",
       "Great quality, I will definitely order again.",
       "Thanks for the handwritten note in my parcel, such a nice touch."},
  };
  return *kT;
}

const std::vector<std::vector<const char*>>& ZhTemplates() {
  static const auto* const kT = new std::vector<std::vector<const char*>>{
      // order_status
      {"你好，我的订单{order}现在到哪里了？{date}下的单，物流一直没有更新。",
       "请问订单{order}发货了吗？买的是{product}。",
       "帮我查一下订单{order}的状态，谢谢。",
       "{date}买的{product}，什么时候能发货？",
       "订单号{order}，能给我一个快递单号吗？",
       "我的订单{order}一直显示处理中，是什么情况？",
       "想确认一下{product}是不是已经寄出了，订单{order}，电话{phone}。"},
      // refund
      {"我要申请退款，订单{order}，{product}和描述不符。",
       "订单{order}已经在{date}退货了，请尽快退回{amount}。",
       "退款申请提交{days}天了，订单{order}，钱什么时候到账？",
       "收到的{product}包装破损，申请退款{amount}。",
       "{product}还没拆封，可以退款吗？",
       "客服说订单{order}的退款已经批准，但是{amount}还没有到账。",
       "麻烦给订单{order}办理全额退款，联系电话{phone}。"},
      // shipping_delay
      {"订单{order}说好{days}天前就该到了，到现在还没收到。",
       "物流信息从{date}开始就没更新过，订单{order}是不是丢件了？",
       "{date}买的{product}，怎么这么久还没到？",
       "订单{order}已经延迟{days}天了。",
       "快递一直说在派送中，{product}就是送不到。",
       "发货都{days}天了还没收到，订单号{order}。",
       "我的包裹卡在中转站好几天了，订单{order}，里面是{product}。"},
      // payment_failed
      {"订单{order}支付失败了，但是钱（{amount}）已经扣了。",
       "付了三次{amount}都显示支付失败。",
       "结账的时候一直报错，付不了款。",
       "买{product}的时候支付出错了，到底扣没扣钱？",
       "{date}付款页面一直转圈，现在订单{order}显示失败。",
       "为什么我的支付被拒绝了？余额明明是够的。",
       "下单{product}又支付失败了，麻烦查一下，手机号{phone}。"},
      // product_question
      {"请问{product}适合冷泡吗？",
       "{product}开封以后怎么保存比较好？",
       "{product}有没有大一点的规格？",
       "{product}是什么时候生产的？",
       "{product}还有货吗？App上显示缺货。",
       "{product}可以放洗碗机吗？",
       "{product}和便宜那款有什么区别？"},
      // account
      {"登录不了，验证码一直发不到{phone}。",
       "麻烦把我账号绑定的邮箱改成{email}。",
       "忘记密码了，重置链接打不开。",
       "登录次数太多，账号被锁了。",
       "怎么注销账号并删除个人信息？",
       "我有两个账号，可以合并吗？手机号{phone}。",
       "好像有人登录了我的账号，出现了不是我下的订单。"},
      // complaint
      {"收到的{product}味道不新鲜，像是陈货。",
       "客服一直不回复，我已经联系{days}次了。",
       "{product}实物比图片小很多。",
       "包装破了，{product}撒了一半出来。",
       "页面价格明明更低，却扣了我{amount}。",
       "快递员态度很差，把包裹扔在门口淋雨。",
       "这次的{product}质量比上次订单{order}差多了。"},
      // coupon
      {"优惠码{coupon}结账时用不了。",
       "说好送{amount}的优惠券，账户里没有。",
       "一个订单可以叠加两张优惠券吗？",
       "订单{order}没有用上{coupon}的折扣。",
       "{coupon}这张券什么时候过期？",
       "为什么{product}不能用优惠券？",
       "注册之后没有收到新人券。"},
      // invoice
      {"请把订单{order}的发票发到{email}。",
       "需要开{amount}的增值税专用发票，抬头是公司。",
       "订单{order}的发票抬头写错了。",
       "{date}买的东西能重新开一张发票吗？",
       "{product}的电子发票在哪里下载？",
       "订单{order}需要开明细发票，报销用。",
       "发票金额和我实际支付的{amount}对不上。"},
      // cancel_order
      {"麻烦取消订单{order}，拍错了。",
       "{product}还没发货，我想取消。",
       "{date}下的订单{order}还能取消吗？",
       "帮我取消订单吧，别家更便宜。",
       "{product}多拍了一件，请取消订单{order}。",
       "App里怎么取消订单？订单号{order}。",
       "订单{order}先别发了，我那几天不在家，取消吧。"},
      // change_address
      {"订单{order}的收货地址需要修改。",
       "订单{order}地址填错了，麻烦改一下，电话{phone}。",
       "{product}能改送到公司吗？",
       "我上周搬家了，最近的订单帮我改一下地址。",
       "订单{order}的邮编写错了，请更正。",
       "订单{order}的收件人和电话改成{phone}。",
       "订单{order}现在改地址还来得及吗？"},
      // praise
      {"{product}太好喝了，谢谢！",
       "发货很快，包装也很精美，{product}很受欢迎。",
       "订单{order}的客服处理得很及时，点赞。",
       "这是我这几年买过最好的{product}。",
       "送给爸妈的{product}他们特别喜欢。",
       "质量很好，会回购的。",
       "包裹里还有手写卡片，很贴心。"},
  };
  return *kT;
}

// [sentiment] -> phrases. Empty strings mean "no extra phrase".
constexpr std::array<std::array<const char*, 8>, 3> kEnMood = {{
    {"This is really frustrating.", "Very disappointed.", "Terrible experience so far.",
     "I'm really annoyed.", "This is unacceptable.", "Honestly the worst service I've had.",
     "I'm losing patience with you.", "Not happy at all!"},
    {"", "", "Thanks.", "Thank you.", "Please advise.", "Regards.", "Let me know.", "Thanks in advance."},
    {"Thanks so much!", "You guys are great.", "Really appreciate your help!", "Love your shop!",
     "Keep up the good work!", "Wonderful service as always.", "You made my day!",
     "Very happy customer here."},
}};
constexpr std::array<std::array<const char*, 8>, 3> kZhMood = {{
    {"太让人失望了！", "体验非常差。", "真的很生气。", "这也太离谱了吧！", "再这样我就不买了。",
     "服务太差了。", "等得很烦。", "非常不满意！"},
    {"", "", "谢谢。", "麻烦了。", "请尽快回复。", "辛苦了。", "谢谢处理。", "麻烦看一下。"},
    {"非常感谢！", "你们的服务真棒！", "辛苦啦，爱你们！", "很满意，谢谢！", "一直很喜欢你们家。",
     "给你们点赞！", "太贴心了！", "五星好评！"},
}};

constexpr std::array<std::string_view, kNumAspects> kAspectNames = {"taste", "quality", "packaging",
                                                                      "shipping", "price"};

// [aspect][positive] -> phrases.
const char* const kEnAspect[kNumAspects][2][4] = {
    {{"Tastes stale and flat.", "Too bitter, and the aroma is weak.", "The flavour was disappointing.",
      "Smells musty, not fresh at all."},
     {"The taste is rich and smooth.", "Lovely aroma, very fresh.", "Great flavour, not bitter at all.",
      "Tastes exactly as described."}},
    {{"Feels cheap and flimsy.", "It broke after a week.", "Poor finish, with scratches.",
      "Doesn't work as described."},
     {"Solid build quality.", "Well made and feels premium.", "Works perfectly.",
      "Sturdy and beautifully finished."}},
    {{"The box was crushed.", "Packaging was flimsy and torn.", "The seal was broken on arrival.",
      "Sloppy packaging."},
     {"The packaging was beautiful.", "Nicely packed, perfect as a gift.", "Well sealed and protected.",
      "Lovely packaging."}},
    {{"Shipping took forever.", "Delivery was very slow.", "The parcel arrived a week late.",
      "The courier lost my parcel for days."},
     {"Arrived quickly.", "Fast shipping.", "Delivered in two days.", "Super fast delivery."}},
    {{"Overpriced.", "Too expensive for what you get.", "Not worth the price.",
      "Way more expensive than elsewhere."},
     {"Great value for money.", "Good price for this quality.", "Cheaper than other shops.",
      "Very fair price."}},
};
const char* const kZhAspect[kNumAspects][2][4] = {
    {{"喝起来像陈茶，没什么味道。", "太苦了，香气也很淡。", "味道让人失望。", "有一股霉味，不新鲜。"},
     {"口感醇厚顺滑。", "香气很好，很新鲜。", "味道很棒，一点也不苦。", "和描述的一样好喝。"}},
    {{"做工粗糙，很廉价。", "用了一周就坏了。", "有划痕，做工差。", "和描述的不一样。"},
     {"做工扎实。", "质感很好，很高级。", "用起来很顺手。", "很结实，做工精致。"}},
    {{"盒子被压坏了。", "包装很简陋还破了。", "收到时封口是开的。", "包装太随便了。"},
     {"包装很精美。", "包得很仔细，送礼很合适。", "密封得很好。", "包装很用心。"}},
    {{"物流太慢了。", "等了好久才到。", "比预计晚了一个星期。", "快递丢件好几天才找到。"},
     {"发货很快。", "物流速度很快。", "两天就到了。", "快递超级快。"}},
    {{"价格偏贵。", "这个价不值。", "太贵了，不划算。", "比别家贵很多。"},
     {"性价比很高。", "这个价格很划算。", "比别家便宜。", "价格很公道。"}},
};

// [0 negative, 1 mixed, 2 positive] -> openings.
const char* const kEnOpen[3][4] = {{"Disappointed.", "Not good.", "Would not buy again.", ""},
                                   {"It's okay.", "Mixed feelings.", "Average.", ""},
                                   {"Love it!", "Very happy with this.", "Excellent.", ""}};
const char* const kZhOpen[3][4] = {{"很失望。", "不推荐。", "差评。", ""},
                                   {"一般般。", "还行吧。", "中规中矩。", ""},
                                   {"很喜欢！", "非常满意。", "好评！", ""}};

void AppendSentence(std::string& out, std::string_view s, bool zh) {
  if (s.empty()) return;
  if (!out.empty() && !zh) out += ' ';
  out += s;
}

}  // namespace

const std::vector<CategoryVocab>& Categories() {
  static const auto* const kCategories = new std::vector<CategoryVocab>(BuildCategories());
  return *kCategories;
}

std::span<const char* const> GenericItemSentences() { return kGenericSentences; }

bool IsImportOrigin(std::string_view origin) {
  static constexpr std::string_view kImports[] = {"India",    "Sri Lanka", "Ethiopia", "Colombia",
                                                  "Brazil",   "Kenya",     "Indonesia", "Vietnam",
                                                  "Japan",    "Germany",   "Italy",    "Egypt"};
  for (auto o : kImports) {
    if (o == origin) return true;
  }
  return false;
}

std::string_view IntentName(int intent) { return kIntentNames[intent]; }

std::string_view SentimentName(int sentiment) {
  static constexpr std::string_view kNames[] = {"negative", "neutral", "positive"};
  return kNames[sentiment];
}

std::string_view AspectName(int aspect) { return kAspectNames[aspect]; }

std::string FillTemplate(std::string_view tmpl, Slots slots) {
  std::string out;
  out.reserve(tmpl.size() + 32);
  size_t i = 0;
  while (i < tmpl.size()) {
    if (tmpl[i] == '{') {
      const size_t close = tmpl.find('}', i);
      if (close != std::string_view::npos) {
        const std::string_view name = tmpl.substr(i + 1, close - i - 1);
        bool found = false;
        for (const auto& [key, value] : slots) {
          if (key == name) {
            out += value;
            found = true;
            break;
          }
        }
        if (found) {
          i = close + 1;
          continue;
        }
      }
    }
    out += tmpl[i++];
  }
  return out;
}

int TicketTemplateCount(int intent, bool zh) {
  return static_cast<int>((zh ? ZhTemplates() : EnTemplates())[intent].size());
}

std::string RenderTicketText(int intent, int sentiment, bool zh, const TicketSlots& slots, Rng& rng) {
  const auto& pool = (zh ? ZhTemplates() : EnTemplates())[intent];
  const char* tmpl = pool[rng.Below(pool.size())];
  const std::string days = std::to_string(slots.days);
  const std::pair<std::string_view, std::string_view> fill[] = {
      {"order", slots.order_ref}, {"product", slots.product}, {"amount", slots.amount},
      {"date", slots.date},       {"email", slots.email},     {"phone", slots.phone},
      {"coupon", slots.coupon},   {"days", days}};
  std::string body = FillTemplate(tmpl, fill);
  const auto& moods = zh ? kZhMood : kEnMood;
  std::string_view mood = moods[sentiment][rng.Below(8)];
  // Negative and positive tickets always carry a mood phrase.
  if (mood.empty() && sentiment != kNeutral) mood = moods[sentiment][0];
  if (mood.empty()) return body;
  std::string out;
  if (rng.Bernoulli(0.35)) {
    AppendSentence(out, mood, zh);
    AppendSentence(out, body, zh);
  } else {
    AppendSentence(out, body, zh);
    AppendSentence(out, mood, zh);
  }
  return out;
}

std::string RenderReviewText(int rating, bool zh, std::string_view product,
                             std::span<const AspectMention> mentions, Rng& rng) {
  const int tone = rating >= 4 ? 2 : (rating <= 2 ? 0 : 1);
  std::string out;
  AppendSentence(out, (zh ? kZhOpen : kEnOpen)[tone][rng.Below(4)], zh);
  if (!product.empty() && rng.Bernoulli(0.4)) {
    if (zh) {
      AppendSentence(out, std::string("买了") + std::string(product) + "。", zh);
    } else {
      AppendSentence(out, "Bought the " + std::string(product) + ".", zh);
    }
  }
  for (const auto& m : mentions) {
    const auto& table = zh ? kZhAspect : kEnAspect;
    AppendSentence(out, table[m.aspect][m.positive ? 1 : 0][rng.Below(4)], zh);
  }
  if (out.empty()) out = zh ? "还可以。" : "Okay.";
  return out;
}

}  // namespace opspilot::demo
