import { Field, ID, ObjectType } from "type-graphql";
import { Column, Entity, Index, PrimaryGeneratedColumn } from "typeorm";

@ObjectType({ simpleResolvers: true, description: "A partner organisation that receives referrals." })
@Entity("partners")
@Index("uq_partners_name", ["name"], { unique: true })
export class Partner {
  @Field(() => ID)
  @PrimaryGeneratedColumn({ type: "bigint", unsigned: true })
  id: string;

  @Field(() => String)
  @Column({ type: "varchar", length: 200 })
  name: string;

  @Column({ name: "created_at", type: "datetime", precision: 3 })
  createdAt: Date;
}
