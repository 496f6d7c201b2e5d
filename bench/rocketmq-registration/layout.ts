/** The topic names of the rocketmq-registration part (shared by main.ts and grpc-fleet.ts). */

/** A topic name of realistic length (35 characters; RocketMQ's characters: letters, digits, %|_-): tenant, domain, event, number. */
export const topicName = (group: number, i: number): string => `tenant-${String(group).padStart(3, '0')}_orders_settlement-${String(i).padStart(6, '0')}`;
