/*
 * What a RocketMQ Java client (rocketmq-client 5.5.0, default settings) knows of a topic's route, as it
 * changes: one producer per NameServer given, each with its own client instance. The topic is put in the
 * producer's publish table (as its first send would) so the client's periodic route update
 * (pollNameServerInterval, 30 s by default) keeps it fresh; the client's route table is then read every
 * 2 ms and every change of its broker names is printed:
 *
 *   route LABEL EPOCH_MS NAME,NAME,...
 *
 * Compiled by bench/rocketmq-failover/main.ts against the jars in .tools/rocketmq/lib.
 *   java -cp '.tools/rocketmq/lib/*:DIR' RouteWatch TOPIC LABEL=NAMESRV [LABEL=NAMESRV ...]
 */
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import org.apache.rocketmq.client.impl.factory.MQClientInstance;
import org.apache.rocketmq.client.impl.producer.TopicPublishInfo;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.remoting.protocol.route.BrokerData;
import org.apache.rocketmq.remoting.protocol.route.TopicRouteData;

public class RouteWatch {
    public static void main(String[] args) throws Exception {
        String topic = args[0];
        List<String> labels = new ArrayList<>();
        List<MQClientInstance> clients = new ArrayList<>();
        for (int i = 1; i < args.length; i++) {
            String[] kv = args[i].split("=", 2);
            DefaultMQProducer p = new DefaultMQProducer("route-watch-" + kv[0] + "-" + System.nanoTime());
            p.setNamesrvAddr(kv[1]);
            p.setInstanceName("route-watch-" + kv[0]);
            p.start();
            p.getDefaultMQProducerImpl().getTopicPublishInfoTable().putIfAbsent(topic, new TopicPublishInfo());
            MQClientInstance c = p.getDefaultMQProducerImpl().getMqClientFactory();
            c.updateTopicRouteInfoFromNameServer(topic);
            labels.add(kv[0]);
            clients.add(c);
        }
        System.out.println("ready");
        String[] last = new String[clients.size()];
        for (;;) {
            for (int i = 0; i < clients.size(); i++) {
                TopicRouteData r = clients.get(i).getTopicRouteTable().get(topic);
                TreeSet<String> names = new TreeSet<>();
                if (r != null) for (BrokerData b : r.getBrokerDatas()) names.add(b.getBrokerName());
                String now = String.join(",", names);
                if (!now.equals(last[i])) {
                    last[i] = now;
                    System.out.println("route " + labels.get(i) + " " + System.currentTimeMillis() + " " + now);
                    System.out.flush();
                }
            }
            Thread.sleep(2);
        }
    }
}
