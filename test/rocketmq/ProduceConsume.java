/*
 * A real RocketMQ Java client for the remoting door's tests (compiled at test time against the jars in
 * .tools/rocketmq/lib): sends COUNT messages to TOPIC with a producer and receives them with a push
 * consumer, both using NAMESRV (this NameServer) to find the broker. Prints "sent N" and "received N";
 * exits 0 when every message came back, 1 otherwise.
 *
 *   java -cp '.tools/rocketmq/lib/*:DIR' ProduceConsume NAMESRV TOPIC COUNT
 */
import java.nio.charset.StandardCharsets;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;

public class ProduceConsume {
    public static void main(String[] args) throws Exception {
        String namesrv = args[0];
        String topic = args[1];
        int count = Integer.parseInt(args[2]);
        String run = Long.toString(System.nanoTime());

        DefaultMQProducer producer = new DefaultMQProducer("test-producer-" + run);
        producer.setNamesrvAddr(namesrv);
        producer.start();
        for (int i = 0; i < count; i++) {
            Message m = new Message(topic, "tag", run + "-" + i, ("message " + i).getBytes(StandardCharsets.UTF_8));
            SendResult r = producer.send(m);
            if (r.getSendStatus() != SendStatus.SEND_OK) throw new IllegalStateException("send status " + r.getSendStatus());
        }
        System.out.println("sent " + count);
        producer.shutdown();

        Set<String> seen = ConcurrentHashMap.newKeySet();
        CountDownLatch all = new CountDownLatch(count);
        DefaultMQPushConsumer consumer = new DefaultMQPushConsumer("test-consumer-" + run);
        consumer.setNamesrvAddr(namesrv);
        consumer.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        consumer.subscribe(topic, "*");
        consumer.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
            for (MessageExt m : msgs) {
                if (m.getKeys() != null && m.getKeys().startsWith(run + "-") && seen.add(m.getKeys())) all.countDown();
            }
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        consumer.start();
        boolean done = all.await(120, TimeUnit.SECONDS);
        consumer.shutdown();
        System.out.println("received " + seen.size());
        System.exit(done ? 0 : 1);
    }
}
